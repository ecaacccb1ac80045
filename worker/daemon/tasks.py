"""The durable job table: one row per unit of work, keyed by a deterministic id derived from the event
that created it (so replaying a batch after a crash finds the row instead of duplicating it).

States: pending (runnable now or at `next_attempt_at`), waiting (on the chain: someone else's lease, a
challenge window), done, skipped (not ours to do), failed (dead letter, `last_error` says why), orphaned
(the event that created it was reorged away).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from worker.daemon.db import Database


class TaskState(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    ORPHANED = "orphaned"


ACTIVE = (TaskState.PENDING, TaskState.WAITING)
TERMINAL = (TaskState.DONE, TaskState.SKIPPED, TaskState.FAILED, TaskState.ORPHANED)


@dataclass(frozen=True)
class Backoff:
    base: float = 2.0
    cap: float = 300.0
    max_attempts: int = 5

    def delay(self, attempts: int) -> float:
        backoff: float = self.base * 2 ** max(attempts - 1, 0)
        return min(backoff, self.cap)


@dataclass
class Task:
    id: str
    kind: str
    subject: int
    origin_block: int
    origin_tx: str
    state: TaskState
    stage: str
    attempts: int = 0
    next_attempt_at: float = 0.0
    lease_expires_at: int = 0
    last_error: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Task:
        return cls(
            id=row["id"],
            kind=row["kind"],
            subject=row["subject"],
            origin_block=row["origin_block"],
            origin_tx=row["origin_tx"],
            state=TaskState(row["state"]),
            stage=row["stage"],
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            lease_expires_at=row["lease_expires_at"],
            last_error=row["last_error"],
            data=json.loads(row["data"]),
        )


def task_id(kind: str, subject: int, origin_tx: str) -> str:
    """Deterministic: the same event always names the same task (a job id alone could be reused by a
    different request after a reorg)."""
    return f"{kind}:{subject}:{origin_tx[2:12]}"


class TaskStore:
    def __init__(self, db: Database, backoff: Backoff | None = None):
        self.db = db
        self.backoff = backoff or Backoff()

    # -- creation (inside the follower's transaction) ------------------------------------------------

    @staticmethod
    def create(
        db: sqlite3.Connection,
        kind: str,
        subject: int,
        origin_block: int,
        origin_tx: str,
        stage: str,
        data: dict[str, Any] | None = None,
    ) -> str:
        """Insert the task, or bring back an orphaned one whose event reappeared after a reorg."""
        tid, now = task_id(kind, subject, origin_tx), time.time()
        db.execute(
            "INSERT INTO tasks (id, kind, subject, origin_block, origin_tx, state, stage, data, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "state = 'pending', origin_block = excluded.origin_block, next_attempt_at = 0, updated_at = ? "
            "WHERE tasks.state = 'orphaned'",
            (tid, kind, subject, origin_block, origin_tx, stage, json.dumps(data or {}), now, now, now),
        )
        return tid

    @staticmethod
    def wake(
        db: sqlite3.Connection, kind: str, subject: int, states: tuple[TaskState, ...] = (TaskState.WAITING,)
    ) -> None:
        """Something changed on-chain for `subject`: re-examine its tasks now."""
        marks = ",".join("?" * len(states))
        db.execute(
            f"UPDATE tasks SET state = 'pending', next_attempt_at = 0, updated_at = ? "
            f"WHERE kind = ? AND subject = ? AND state IN ({marks})",
            (time.time(), kind, subject, *states),
        )

    @staticmethod
    def orphan_above(db: sqlite3.Connection, block: int) -> int:
        return db.execute(
            "UPDATE tasks SET state = 'orphaned', last_error = ?, updated_at = ? "
            "WHERE origin_block > ? AND state NOT IN ('orphaned')",
            (f"the event that created it was reorged away (fork at block {block})", time.time(), block),
        ).rowcount

    # -- reading ---------------------------------------------------------------------------------------

    def get(self, tid: str) -> Task | None:
        rows = self.db.query("SELECT * FROM tasks WHERE id = ?", (tid,))
        return Task.from_row(rows[0]) if rows else None

    def runnable(self, now: float | None = None, limit: int = 100) -> list[Task]:
        rows = self.db.query(
            "SELECT * FROM tasks WHERE state IN ('pending', 'waiting') AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, origin_block, id LIMIT ?",
            (time.time() if now is None else now, limit),
        )
        return [Task.from_row(r) for r in rows]

    def all(self, kind: str | None = None) -> list[Task]:
        rows = self.db.query(
            "SELECT * FROM tasks" + (" WHERE kind = ?" if kind else "") + " ORDER BY origin_block, id",
            (kind,) if kind else (),
        )
        return [Task.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        return {
            r["state"]: r["n"] for r in self.db.query("SELECT state, COUNT(*) AS n FROM tasks GROUP BY state")
        }

    # -- transitions -------------------------------------------------------------------------------

    def save(self, task: Task, **changes: Any) -> Task:
        for key, value in changes.items():
            setattr(task, key, value)
        with self.db.transaction() as db:
            db.execute(
                "UPDATE tasks SET state = ?, stage = ?, attempts = ?, next_attempt_at = ?, "
                "lease_expires_at = ?, last_error = ?, data = ?, updated_at = ? WHERE id = ?",
                (
                    task.state,
                    task.stage,
                    task.attempts,
                    task.next_attempt_at,
                    task.lease_expires_at,
                    task.last_error,
                    json.dumps(task.data, sort_keys=True),
                    time.time(),
                    task.id,
                ),
            )
        return task

    def advance(self, task: Task, stage: str, **data: Any) -> Task:
        task.data.update(data)
        return self.save(task, stage=stage, state=TaskState.PENDING, next_attempt_at=0.0)

    def wait(self, task: Task, seconds: float, reason: str) -> Task:
        return self.save(
            task, state=TaskState.WAITING, next_attempt_at=time.time() + max(seconds, 0.0), last_error=reason
        )

    def finish(self, task: Task, state: TaskState, reason: str = "") -> Task:
        if state not in TERMINAL:
            raise ValueError(f"{state} is not a terminal task state")
        return self.save(task, state=state, last_error=reason or task.last_error)

    def retry(self, task: Task, error: str, immediately: bool = False) -> Task:
        """Count a failed attempt: back off (or look again at once), or dead-letter once the attempts are
        used up."""
        attempts = task.attempts + 1
        if attempts >= self.backoff.max_attempts:
            return self.save(
                task,
                attempts=attempts,
                state=TaskState.FAILED,
                last_error=f"gave up after {attempts} attempts: {error}",
            )
        return self.save(
            task,
            attempts=attempts,
            state=TaskState.PENDING,
            next_attempt_at=time.time() + (0.0 if immediately else self.backoff.delay(attempts)),
            last_error=error,
        )
