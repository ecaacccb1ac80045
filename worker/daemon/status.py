"""`openledger worker status`: where the follower is, how far behind the chain, jobs by state, errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from worker.daemon.db import Database
from worker.daemon.tasks import TaskState, TaskStore


@dataclass
class WorkerStatus:
    state_file: str
    worker: str | None
    chain_id: str | None
    cursor: int | None
    head: int | None
    lag: int | None
    tasks_by_state: dict[str, int]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    last_errors: list[dict[str, Any]] = field(default_factory=list)
    unsettled_transactions: int = 0
    events_indexed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def worker_status(db: Database, head: int | None, recent: int = 20) -> WorkerStatus:
    tasks = TaskStore(db).all()
    cursor_rows = db.query("SELECT block FROM cursor WHERE id = 1")
    cursor = cursor_rows[0]["block"] if cursor_rows else None
    unsettled = (TaskState.FAILED, TaskState.PENDING, TaskState.WAITING)
    errors = [t for t in tasks if t.last_error and t.state in unsettled]
    return WorkerStatus(
        state_file=str(db.path),
        worker=db.meta("worker"),
        chain_id=db.meta("chain_id"),
        cursor=cursor,
        head=head,
        lag=None if head is None or cursor is None else max(head - cursor, 0),
        tasks_by_state=TaskStore(db).counts(),
        tasks=[
            {
                "id": t.id,
                "kind": t.kind,
                "subject": t.subject,
                "state": t.state,
                "stage": t.stage,
                "attempts": t.attempts,
                "timings": t.data.get("timings", {}),
                "adapter_cid": t.data.get("result", {}).get("adapter_cid"),
            }
            for t in tasks[-recent:]
        ],
        last_errors=[{"id": t.id, "state": t.state, "error": t.last_error} for t in errors[-recent:]],
        unsettled_transactions=len(db.query("SELECT 1 FROM outbox WHERE state = 'signed'")),
        events_indexed=int(db.query("SELECT COUNT(*) AS n FROM events")[0]["n"]),
    )
