"""How a failure inside a task is treated: a chain that is down is waited out, a race on-chain is
re-examined from fresh chain state, bad content or a bad spec fails the job for good (with the reason
recorded and the lease given back), anything else is retried a bounded number of times."""

from __future__ import annotations

import logging
from enum import Enum
from typing import TYPE_CHECKING

from worker.chain.retry import rpc_unavailable
from worker.chain.reverts import TransactionReverted
from worker.daemon.lease import LeaseLost
from worker.daemon.tasks import TaskState
from worker.errors import AttributionError, ChainError, DataError, TrainingError
from worker.jobs import JobInputError
from worker.storage.errors import CidMismatchError, ContentNotFoundError, InvalidCidError

if TYPE_CHECKING:
    from worker.daemon.context import WorkerContext
    from worker.daemon.tasks import Task

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
        # The claim's preconditions changed (collateral locked by our other work, the hard deadline):
        # the next run decides from chain state whether to wait or skip, it never hammers the claim.
        "InsufficientFreeStake",
        "JobDeadlinePassed",
    }
)


class Verdict(Enum):
    RPC_DOWN = "rpc-down"  # leave the task as it is; the loop backs off
    RECHECK = "recheck"  # counted attempt, next run starts from chain state
    RETRY = "retry"  # counted attempt with backoff
    FAIL = "fail"  # dead letter now, release the lease


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


class RpcDown(ChainError):
    """Raised to the loop: the chain cannot be reached; the task keeps its progress."""


def describe(exc: BaseException) -> str:
    if isinstance(exc, TransactionReverted):
        return f"{exc} [decoded: {exc.error_name} {exc.args}]" if exc.error_name else str(exc)
    if isinstance(exc, LeaseLost):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def record_failure(ctx: WorkerContext, task: Task, exc: Exception) -> Task:
    """Log and record what `exc` means for `task` (see `classify`); returns the task as saved. A chain
    that cannot be reached is not the task's failure: RpcDown goes up to the loop instead."""
    verdict, reason = classify(exc), describe(exc)
    ctx.log(f"{task.kind}.error", task, logging.WARNING, verdict=verdict.value, error=reason)
    if verdict is Verdict.RPC_DOWN:
        raise RpcDown(reason) from exc
    if verdict is Verdict.FAIL:
        return ctx.tasks.finish(task, TaskState.FAILED, reason)
    return ctx.tasks.retry(task, reason, immediately=verdict is Verdict.RECHECK)
