"""The worker daemon: event-driven training jobs and auto-review, reorg- and crash-safe.

Layout: db (SQLite state), follower (eth_getLogs cursor, block-hash window, reorg rewind), ledger (event
handlers -> tasks), tasks (durable job table, backoff, dead letters), outbox (signed transactions recorded
before broadcast), lease (heartbeats), training / review (task pipelines), errors (failure verdicts),
logs (structured logs), runner (the loop), status.
"""

from worker.daemon.follower import ChainFollower, FollowerSettings, ReorgTooDeep
from worker.daemon.runner import StepReport, WorkerDaemon
from worker.daemon.settings import WorkerSettings, default_confirmations, worker_home
from worker.daemon.status import WorkerStatus, worker_status
from worker.daemon.tasks import Backoff, Task, TaskStore

__all__ = [
    "Backoff",
    "ChainFollower",
    "FollowerSettings",
    "ReorgTooDeep",
    "StepReport",
    "Task",
    "TaskStore",
    "WorkerDaemon",
    "WorkerSettings",
    "WorkerStatus",
    "default_confirmations",
    "worker_home",
    "worker_status",
]
