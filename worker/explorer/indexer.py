"""The explorer's indexer: the daemon's reorg-safe follower (worker/daemon/follower.py) feeding the
explorer's tables (handlers.py), then the off-chain documents those rows name (content.py) and the
timestamps of the blocks the pages date.

One SQLite file per deployment under `$OPENLEDGER_HOME/explorer/`, named after the chain id, the genesis
block and the DatanetRegistry address, so a fresh Anvil (same chain id, new genesis) or a second
deployment on the same node starts a clean index instead of mixing two chains' ids.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from worker.chain.client import ChainClient
from worker.chain.deployment import Deployment
from worker.chain.retry import rpc_unavailable
from worker.daemon.follower import ChainFollower, FollowerSettings, PollResult
from worker.errors import OpenLedgerError
from worker.explorer.content import fetch_pending
from worker.explorer.handlers import ExplorerSink
from worker.explorer.schema import ExplorerDatabase
from worker.storage import ContentStore

log = logging.getLogger("openledger.explorer")

# The contracts whose events make the explorer's state (token transfers and governance are not shown).
INDEXED_CONTRACTS = ("DatanetRegistry", "ModelRegistry", "WorkerRegistry", "RewardVault")

# Rows dated by the block that made them (events without a timestamp field of their own).
_DATED = ("job_events", "payments", "claims", "epochs", "models", "jobs")


@dataclass(frozen=True)
class IndexerSettings:
    confirmations: int = 0
    poll_seconds: float = 1.0
    max_range: int = 2_000
    window: int = 256


@dataclass(frozen=True)
class IndexPass:
    poll: PollResult
    documents: int
    dated_blocks: int


def default_db_path(deployment: Deployment, home: Path) -> Path:
    genesis = deployment.genesis_hash.removeprefix("0x")[:12]
    registry = deployment.address("DatanetRegistry")[2:10].lower()
    return home / "explorer" / f"{deployment.chain_id}-{genesis}-{registry}.sqlite"


class Indexer:
    def __init__(
        self,
        client: ChainClient,
        store: ContentStore,
        db: ExplorerDatabase,
        settings: IndexerSettings | None = None,
    ):
        self.client, self.store, self.db = client, store, db
        self.settings = settings or IndexerSettings()
        deployment = client.deployment
        self.follower = ChainFollower(
            client.w3,
            client.decoder,
            [deployment.address(name) for name in INDEXED_CONTRACTS],
            db,
            ExplorerSink(),
            FollowerSettings(
                confirmations=self.settings.confirmations,
                max_range=self.settings.max_range,
                window=self.settings.window,
                start_block=deployment.block_number,
            ),
        )
        self.last_error = ""

    def poll(self) -> IndexPass:
        """Index every confirmed block not indexed yet, then what the new rows refer to."""
        result = self.follower.poll()
        dated = self._date_blocks()
        documents = fetch_pending(self.db, self.store)
        return IndexPass(result, documents, dated)

    def _date_blocks(self) -> int:
        union = " UNION ".join(f"SELECT block FROM {table}" for table in _DATED)
        rows = self.db.query(
            f"SELECT block FROM ({union}) WHERE block NOT IN (SELECT number FROM block_times)"  # noqa: S608
        )
        times = [(int(r["block"]), self.client.block_timestamp(int(r["block"]))) for r in rows]
        if times:
            with self.db.transaction() as tx:
                tx.executemany("INSERT OR REPLACE INTO block_times (number, timestamp) VALUES (?, ?)", times)
        return len(times)

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; an unreachable RPC or content store is logged and retried."""
        while not stop.is_set():
            try:
                self.poll()
                self.last_error = ""
            except OpenLedgerError as exc:
                self._failed(exc)
            except Exception as exc:
                if not rpc_unavailable(exc):  # a bug: logged whole, shown in /api/status, and retried
                    log.exception("indexing failed")
                self._failed(exc)
            stop.wait(self.settings.poll_seconds)

    def _failed(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message != self.last_error:
            log.warning("indexing paused: %s (retrying every %gs)", message, self.settings.poll_seconds)
        self.last_error = message

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="explorer-indexer", daemon=True)
        thread.start()
        return thread

    def cursor(self) -> int:
        cursor = self.follower.cursor()
        return cursor.block if cursor else self.follower.settings.start_block - 1
