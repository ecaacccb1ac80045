"""What every task handler works with: one account on one deployment, content, and the durable state."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from worker.chain.client import ChainClient
from worker.daemon.db import Database
from worker.daemon.logs import event
from worker.daemon.outbox import Outbox
from worker.daemon.settings import WorkerSettings
from worker.daemon.tasks import Task, TaskStore
from worker.storage import ContentStore


@dataclass
class WorkerContext:
    client: ChainClient
    store: ContentStore
    db: Database
    tasks: TaskStore
    outbox: Outbox
    settings: WorkerSettings

    @property
    def me(self) -> str:
        return self.client.address

    def log(self, name: str, task: Task | None = None, level: int = logging.INFO, **fields: Any) -> None:
        if task is not None:
            fields = {"task": task.id, "stage": task.stage, **fields}
        event(level, name, **fields)
