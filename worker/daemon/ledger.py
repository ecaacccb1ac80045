"""Derived state from the chain's events: which tasks exist and when to look at them again.

Handlers are small functions of (transaction, event); the follower calls them in chain order inside the
transaction that also moves the cursor, and calls `rewind` when a reorg removes blocks.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from worker.chain.events import DecodedEvent
from worker.daemon import review, training
from worker.daemon.outbox import Outbox
from worker.daemon.settings import WorkerSettings
from worker.daemon.tasks import TaskState, TaskStore

Handler = Callable[[sqlite3.Connection, DecodedEvent], None]

# Job events after which a waiting (or skipped) training task should look at the chain again.
_JOB_CHANGES = (
    "JobClaimed",
    "JobReleased",
    "JobCancelled",
    "ResultSubmitted",
    "ResultChallenged",
    "ChallengeWindowReopened",  # a rejected challenge: the result waits out a new window
    "JobFinalized",
    "ResultAwaitingOwner",
)


class Ledger:
    def __init__(self, settings: WorkerSettings, outbox: Outbox):
        self.settings, self.outbox = settings, outbox
        self.handlers: dict[tuple[str, str], Handler] = {
            ("ModelRegistry", "TrainingRequested"): self._training_requested,
            ("ModelRegistry", "ChallengeResolved"): self._challenge_resolved,
            ("ModelRegistry", "ChallengeLapsed"): self._challenge_resolved,
            ("DatanetRegistry", "ContributionSubmitted"): self._contribution_submitted,
        }
        for name in _JOB_CHANGES:
            self.handlers[("ModelRegistry", name)] = self._job_changed

    def apply(self, db: sqlite3.Connection, event: DecodedEvent) -> None:
        handler = self.handlers.get((event.contract, event.name))
        if handler is not None:
            handler(db, event)

    def rewind(self, db: sqlite3.Connection, fork_block: int) -> None:
        TaskStore.orphan_above(db, fork_block)
        self.outbox.reorged_above(db, fork_block)
        # Whatever survived may rest on facts that are gone (our claim, someone's result): look again.
        db.execute(
            "UPDATE tasks SET state = 'pending', next_attempt_at = 0, updated_at = ? WHERE state = 'waiting'",
            (time.time(),),
        )

    # -- handlers -------------------------------------------------------------------------------------

    @staticmethod
    def _training_requested(db: sqlite3.Connection, event: DecodedEvent) -> None:
        data = {
            "model_id": int(event["modelId"]),
            "requester": event["requester"],
            "bounty": str(event["bounty"]),
        }
        TaskStore.create(
            db, training.KIND, int(event["jobId"]), event.block_number, event.tx_hash, "claim", data
        )

    @staticmethod
    def _job_changed(db: sqlite3.Connection, event: DecodedEvent) -> None:
        TaskStore.wake(db, training.KIND, int(event["jobId"]))

    @staticmethod
    def _challenge_resolved(db: sqlite3.Connection, event: DecodedEvent) -> None:
        # Upheld or lapsed: the job is Open again, so a worker that stood aside may take it now.
        TaskStore.wake(db, training.KIND, int(event["jobId"]), (TaskState.WAITING, TaskState.SKIPPED))

    def _contribution_submitted(self, db: sqlite3.Connection, event: DecodedEvent) -> None:
        if int(event["datanetId"]) in self.settings.auto_review:
            data = {"datanet_id": int(event["datanetId"]), "contributor": event["contributor"]}
            TaskStore.create(
                db,
                review.KIND,
                int(event["contributionId"]),
                event.block_number,
                event.tx_hash,
                "review",
                data,
            )
