"""How a failure inside a task is treated: a chain that is down is waited out, a race on-chain is
re-examined from fresh chain state, bad content or a bad spec fails the job for good (with the reason
recorded and the lease given back), anything else is retried a bounded number of times."""

from __future__ import annotations

from enum import Enum

from worker.chain.retry import is_transient
from worker.chain.reverts import TransactionReverted
from worker.daemon.lease import LeaseLost
from worker.errors import AttributionError, DataError, TrainingError
from worker.jobs import JobInputError
from worker.storage.errors import CidMismatchError, ContentNotFoundError, InvalidCidError

# Reverts that mean "the job moved on under us" (another worker, an expired lease, a cancel): not a
# reason to fail, a reason to look at the chain again.
STATE_RACES = frozenset(
    {
        "InvalidJobStatus",
        "LeaseStillActive",
        "LeaseExpired",
        "NotLeaseHolder",
        "UnknownJob",  # a reorg removed it: reconciliation will say so
        "InvalidContributionStatus",
    }
)


class Verdict(Enum):
    RPC_DOWN = "rpc-down"  # leave the task as it is; the loop backs off
    RECHECK = "recheck"  # counted attempt, next run starts from chain state
    RETRY = "retry"  # counted attempt with backoff
    FAIL = "fail"  # dead letter now, release the lease


def rpc_unavailable(exc: BaseException) -> bool:
    while exc is not None:
        if is_transient(exc):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def classify(exc: BaseException) -> Verdict:
    if isinstance(exc, TransactionReverted):
        return Verdict.RECHECK if exc.error_name in STATE_RACES else Verdict.FAIL
    if isinstance(exc, LeaseLost):
        return Verdict.RECHECK
    if isinstance(exc, ContentNotFoundError):
        return Verdict.RETRY  # a node may not have it yet
    if isinstance(
        exc, JobInputError | CidMismatchError | InvalidCidError | DataError | TrainingError | AttributionError
    ):
        return Verdict.FAIL
    if rpc_unavailable(exc):
        return Verdict.RPC_DOWN
    return Verdict.RETRY
