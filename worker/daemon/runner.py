"""The worker daemon: follow the chain, run the tasks it implies, survive the chain going away.

    daemon = WorkerDaemon.open(client, store, settings)
    daemon.run()                       # until Ctrl-C / SIGTERM
    daemon.run(until=lambda: ...)      # tests and the demo: until a condition holds

Each step: poll new confirmed logs (which creates or wakes tasks), run every runnable task as far as it
can go, then the extra tick hooks (e.g. epoch posting). When the RPC is unreachable the loop backs off
exponentially (capped) and tries again; nothing is lost because nothing is acknowledged before it is
committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from worker.chain.client import ChainClient
from worker.chain.connection import genesis_hash
from worker.chain.retry import rpc_unavailable
from worker.daemon.context import WorkerContext
from worker.daemon.db import Database
from worker.daemon.follower import ChainFollower, PollResult
from worker.daemon.ledger import Ledger
from worker.daemon.outbox import Outbox
from worker.daemon.review import AutoReview
from worker.daemon.settings import WorkerSettings
from worker.daemon.tasks import Task, TaskStore
from worker.daemon.training import TrainingJobs
from worker.daemon.verdicts import RpcDown
from worker.errors import ConfigError
from worker.storage import ContentStore

FOLLOWED = ("ModelRegistry", "DatanetRegistry")


class TaskHandler(Protocol):
    def run(self, task: Task) -> None: ...


@dataclass
class StepReport:
    poll: PollResult | None = None
    tasks_run: int = 0
    ticks: list[object] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.tasks_run or (self.poll and self.poll.events))


class WorkerDaemon:
    def __init__(self, ctx: WorkerContext):
        self.ctx = ctx
        self.ledger = Ledger(ctx.settings, ctx.outbox)
        addresses = [ctx.client.deployment.address(name) for name in FOLLOWED]
        self.follower = ChainFollower(
            ctx.client.w3, ctx.client.decoder, addresses, ctx.db, self.ledger, ctx.settings.follower
        )
        self.handlers: dict[str, TaskHandler] = {"train": TrainingJobs(ctx), "review": AutoReview(ctx)}
        self.ticks: list[Callable[[], object]] = []  # extra periodic work (epoch posting)
        self.rpc_failures = 0

    @classmethod
    def open(cls, client: ChainClient, store: ContentStore, settings: WorkerSettings) -> WorkerDaemon:
        db = Database(settings.db_path)
        outbox = Outbox(db, client)
        ctx = WorkerContext(client, store, db, TaskStore(db, settings.backoff), outbox, settings)
        daemon = cls(ctx)
        daemon._check_identity()
        return daemon

    # -- start -------------------------------------------------------------------------------------

    def _check_identity(self) -> None:
        """A state file belongs to one chain, one deployment and one account."""
        client, db = self.ctx.client, self.ctx.db
        expected = {
            "chain_id": str(client.sender.chain_id),
            "genesis": genesis_hash(client.w3),
            "model_registry": client.deployment.address("ModelRegistry"),
            "worker": client.address,
        }
        for key, value in expected.items():
            recorded = db.meta(key)
            if recorded is None:
                db.set_meta(key, value)
            elif recorded.lower() != value.lower():
                raise ConfigError(
                    f"worker state {db.path} belongs to {key} {recorded}, not {value}: point "
                    "OPENLEDGER_HOME elsewhere or remove that directory to start over"
                )

    def start(self) -> list[str]:
        """Register (stake) if needed and settle transactions signed before a crash."""
        done = self.ctx.outbox.reconcile()
        for line in done:
            self.ctx.log("outbox.reconciled", detail=line)
        self._ensure_registered()
        return done

    def _ensure_registered(self) -> None:
        client, settings = self.ctx.client, self.ctx.settings
        if client.workers.is_active_worker(client.address):
            return
        if not settings.register:
            raise ConfigError(f"{client.address} is not an active worker; register it or run with --register")
        balance = client.token.balance_of(client.address)
        stake = max(settings.stake, client.workers.min_worker_stake())
        if balance < stake:
            raise ConfigError(
                f"{client.address} holds {balance / 10**18:g} OPEN; registering as a worker stakes "
                f"{stake / 10**18:g} OPEN: fund the account first"
            )
        tx = self.ctx.outbox.send(
            "register", "register", lambda: client.workers.register_worker(stake, settings.endpoint)
        )
        self.ctx.log("worker.registered", stake=stake, tx=tx.tx_hash)

    # -- loop ----------------------------------------------------------------------------------------

    def idle(self) -> bool:
        """Caught up with the chain and nothing to run now (tasks may still wait on chain deadlines)."""
        cursor = self.follower.cursor()
        head = int(self.ctx.client.w3.eth.block_number) - self.ctx.settings.follower.confirmations
        pending = self.ctx.db.query("SELECT 1 FROM tasks WHERE state = 'pending' LIMIT 1")
        return cursor is not None and cursor.block >= head and not pending

    def step(self) -> StepReport:
        poll = self.follower.poll()
        report = StepReport(poll=poll)
        if poll.reorg_depth:
            self.ctx.log("chain.reorg", level=logging.WARNING, depth=poll.reorg_depth, cursor=poll.cursor)
        for task in self.ctx.tasks.runnable():
            self.handlers[task.kind].run(task)
            report.tasks_run += 1
        for tick in self.ticks:
            report.ticks.append(tick())
        return report

    def run(
        self,
        stop: threading.Event | None = None,
        until: Callable[[], bool] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Loop until `stop` is set, `until()` holds, or `timeout` seconds pass (TimeoutError)."""
        stop = stop or threading.Event()
        deadline = None if timeout is None else time.monotonic() + timeout
        started = False
        while not stop.is_set():
            if until is not None and started and until():
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"worker loop did not finish within {timeout} s")
            try:
                if not started:
                    self.start()
                    started = True
                busy = self.step().busy
                self.rpc_failures = 0
            except Exception as exc:  # noqa: BLE001 - the loop must outlive a flaky RPC
                if not (isinstance(exc, RpcDown) or rpc_unavailable(exc)):
                    raise
                self._rpc_down(stop, exc)
                continue
            if not busy:
                stop.wait(self.ctx.settings.poll_interval)

    def _rpc_down(self, stop: threading.Event, exc: BaseException) -> None:
        self.rpc_failures += 1
        delay = min(0.5 * 2 ** (self.rpc_failures - 1), self.ctx.settings.rpc_backoff_cap)
        self.ctx.log(
            "rpc.unavailable",
            None,
            logging.WARNING,
            retry_in=delay,
            failures=self.rpc_failures,
            error=str(exc)[:300],
        )
        stop.wait(delay)
