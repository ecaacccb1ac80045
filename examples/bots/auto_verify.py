"""A bot that verifies every posted training result and challenges the ones that do not recompute.

    OPENLEDGER_PRIVATE_KEY=0x... python examples/bots/auto_verify.py          # Ctrl-C stops; reruns resume
    python examples/bots/auto_verify.py --dry-run                              # verify only, never challenge

On each `ResultSubmitted` it runs what `openledger verify job` runs (retrain and re-attribute from the
chain and content alone), and on a MISMATCH, while the job is still in its challenge window, it puts up
the challenge bond with the verification as evidence (`openledger challenge job`). A result computed with
other library versions gets no verdict (CANNOT_JUDGE) and is only reported: rerun with the poster's
versions before risking a bond. Delivery is at least once, so a job already challenged or settled is
skipped rather than challenged twice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from worker.chain.client import ChainClient
from worker.chain.events import DecodedEvent
from worker.chain.types import JobStatus
from worker.daemon.watch import follow
from worker.jobs.challenges import challenge_job
from worker.jobs.verify import Verdict, verify_job
from worker.storage import ContentStore, open_store


@dataclass(frozen=True)
class Outcome:
    job_id: int
    verdict: str  # match, mismatch, cannot_judge, skipped
    challenged: bool = False
    detail: str = ""


def check_result(client: ChainClient, store: ContentStore, job_id: int, challenge: bool = True) -> Outcome:
    """Verify job `job_id`'s posted result; challenge it on a mismatch (when `challenge`)."""
    status = JobStatus(client.models.require_job(job_id).status)
    if status is not JobStatus.SUBMITTED:
        return Outcome(job_id, "skipped", detail=f"job is {status.name.lower()}, not awaiting challenges")
    result = verify_job(client, store, job_id)
    if result.verdict is not Verdict.MISMATCH:
        return Outcome(job_id, result.verdict.value)
    failed = ", ".join(c.name for c in result.checks if not c.ok)
    if not challenge:
        return Outcome(job_id, "mismatch", detail=f"differs: {failed}")
    reason = f"auto-verify: recomputed {failed} differ from what the worker posted"
    posted = challenge_job(client, store, job_id, reason, result.to_dict())
    return Outcome(job_id, "mismatch", True, f"challenged (bond escrowed, reason {posted.reason_cid})")


def run(
    client: ChainClient,
    store: ContentStore,
    *,
    challenge: bool = True,
    once: bool = False,
    emit: Callable[[str], object] = print,
) -> int:
    """Check every ResultSubmitted from the bot's cursor on; returns how many events were handled."""

    def on_result(event: DecodedEvent) -> None:
        outcome = check_result(client, store, int(event["jobId"]), challenge)
        emit(f"job {outcome.job_id}: {outcome.verdict}" + (f" ({outcome.detail})" if outcome.detail else ""))

    return follow(on_result, client=client, events=["ResultSubmitted"], cursor="auto-verify", once=once)


if __name__ == "__main__":
    dry_run = "--dry-run" in sys.argv[1:]
    try:
        client = ChainClient.connect(read_only=dry_run)
        run(client, open_store(), challenge=not dry_run, once="--once" in sys.argv[1:])
    except KeyboardInterrupt:
        pass
