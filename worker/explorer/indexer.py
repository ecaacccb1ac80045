"""The explorer's indexer: the daemon's reorg-safe follower (worker/daemon/follower.py) feeding the
explorer's tables (handlers.py), then the off-chain documents those rows name (content.py) and the
timestamps of the blocks the pages date.

By default one SQLite file per deployment under `$OPENLEDGER_HOME/explorer/`, named after the chain id,
the genesis block and the DatanetRegistry address, so a fresh Anvil (same chain id, new genesis) or a
second deployment on the same node starts a clean index instead of mixing two chains' ids; or a
PostgreSQL database by URL, one per deployment (the index records whose it is and refuses another's).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from worker.chain.client import ChainClient
from worker.chain.connection import chain_key
from worker.chain.deployment import Deployment
from worker.chain.retry import rpc_unavailable
from worker.daemon.follower import ChainFollower, FollowerSettings, PollResult
from worker.database import DatabaseUnavailable
from worker.errors import OpenLedgerError, redact_urls
from worker.explorer.content import ContentFetcher
from worker.explorer.handlers import ExplorerSink, replay, upsert
from worker.explorer.schema import ExplorerDatabase, needs_replay, replayed
from worker.storage import ContentStore

log = logging.getLogger("openledger.explorer")

# The contracts whose events make the explorer's state (token transfers and governance are not shown).
INDEXED_CONTRACTS = ("DatanetRegistry", "ModelRegistry", "WorkerRegistry", "RewardVault")

# Rows dated by the block that made them (events without a timestamp field of their own).
_DATED = ("job_events", "payments", "claims", "epochs", "models", "jobs")


@dataclass(frozen=True)
class IndexerSettings:
    confirmations: int = 0  # the CLI passes worker.daemon.settings.default_confirmations(chain id)
    poll_seconds: float = 1.0
    max_range: int = 2_000
    window: int = 256
    content_workers: int = 4  # documents fetched at once, in threads of their own
    content_budget_s: float = 30.0  # the longest one content pass waits for the fetches it started
    content_wait_s: float = 2.0  # after a chain pass, how long it waits for the documents its rows name


@dataclass(frozen=True)
class IndexPass:
    poll: PollResult
    documents: int
    dated_blocks: int


class WrongIndex(OpenLedgerError):
    """The index holds another deployment's state (a reused PostgreSQL database or file)."""


def _deployment_key(deployment: Deployment) -> str:
    registry = deployment.address("DatanetRegistry").lower()
    return f"{chain_key(deployment.chain_id, deployment.genesis_hash)}-{registry}"


def default_db_path(deployment: Deployment, home: Path) -> Path:
    registry = deployment.address("DatanetRegistry")[2:10].lower()
    return home / "explorer" / f"{chain_key(deployment.chain_id, deployment.genesis_hash)}-{registry}.sqlite"


def _claim_index(db: ExplorerDatabase, deployment: Deployment) -> None:
    """Mark the index as this deployment's, or refuse one that holds another's."""
    key = _deployment_key(deployment)
    with db.transaction() as tx:
        found = tx.execute("SELECT value FROM meta WHERE key = 'deployment'").one()
        if found is None:
            tx.execute("INSERT INTO meta (key, value) VALUES ('deployment', ?)", (key,))
        elif found[0] != key:
            raise WrongIndex(
                f"the index at {db.location} belongs to deployment {found[0]}, not {key}: give each "
                "deployment its own database (--db)"
            )


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
        _claim_index(db, deployment)
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
        with db.transaction() as tx:
            if needs_replay(tx):  # an index of an older layout: folded again from the event log it keeps
                replay(tx)
                replayed(tx)
        self.content = ContentFetcher(
            db, store, self.settings.content_workers, self.settings.content_budget_s
        )
        self.last_error = ""
        # Every row up to this block has had its documents fetched (or waited for `content_wait_s`): a
        # page waiting on a transaction's block waits for this, not the chain cursor, which moves first.
        self.documents_block: int | None = None

    def poll(self) -> IndexPass:
        """Index every confirmed block not indexed yet, then what the new rows refer to (waiting for
        those documents at most `content_budget_s`)."""
        result, dated = self.poll_chain()
        return IndexPass(result, self.content.fetch(), dated)

    def poll_chain(self) -> tuple[PollResult, int]:
        result = self.follower.poll()
        return result, self._date_blocks()

    def _date_blocks(self) -> int:
        union = " UNION ".join(f"SELECT block FROM {table}" for table in _DATED)
        rows = self.db.read(
            f"SELECT block FROM ({union}) AS dated "  # noqa: S608 - table names are constants
            "WHERE block NOT IN (SELECT number FROM block_times)"
        )
        times = [(int(r[0]), self.client.block_timestamp(int(r[0]))) for r in rows]
        if times:
            with self.db.transaction() as tx:
                for number, timestamp in times:
                    upsert(tx, "block_times", ("number",), number=number, timestamp=timestamp)
        return len(times)

    def run(self, stop: threading.Event) -> None:
        """Index the chain until `stop` is set; an unreachable RPC is logged and retried."""
        pending: float | None = None  # when the first pass whose rows' documents were not waited for began
        while not stop.is_set():
            pending = time.monotonic() if pending is None else pending
            polled = self._poll_step()
            if polled is not None:
                # The documents the new rows name, at once (pages shown after a transaction find them),
                # waited for a moment only: a fetch that hangs goes on in its thread, not in this one. The
                # content thread may have started some of them since `pending` (a pass may have stored
                # rows and failed after): those are waited for too; a fetch older than that is not.
                try:
                    self.content.fetch(self.settings.content_wait_s, started_since=pending)
                except Exception as exc:  # the content thread tries again; so does the next pass
                    if not isinstance(exc, DatabaseUnavailable):  # a bug: logged whole, indexing goes on
                        log.exception("fetching the documents of new rows failed")
                    self._failed(exc)
                else:
                    self.documents_block, pending = polled.cursor, None
            stop.wait(self.settings.poll_seconds)

    def step(self) -> bool:
        """One pass over the chain; False (and `last_error` says why, URLs cut to their host) if it failed."""
        return self._poll_step() is not None

    def _poll_step(self) -> PollResult | None:
        try:
            result, _dated = self.poll_chain()
        except OpenLedgerError as exc:
            self._failed(exc)
            return None
        except Exception as exc:
            if not rpc_unavailable(exc):  # a bug: logged whole, shown in /api/status, and retried
                log.exception("indexing failed")
            self._failed(exc)
            return None
        self.last_error = ""
        return result

    def run_content(self, stop: threading.Event) -> None:
        """Fetch the documents the index refers to until `stop` is set, apart from chain indexing."""
        while not stop.is_set():
            try:
                self.content.fetch()
            except DatabaseUnavailable as exc:  # down or locked for now: retried on the next pass
                log.warning("content fetching paused: %s", exc)
            except Exception:  # the database itself failing: logged, retried
                log.exception("content fetching failed")
            stop.wait(self.settings.poll_seconds)
        self.content.close()

    def _failed(self, exc: BaseException) -> None:
        # Served publicly (/api/status): an RPC URL can carry an API key in its path.
        message = redact_urls(f"{type(exc).__name__}: {exc}")
        if message != self.last_error:
            log.warning("indexing paused: %s (retrying every %gs)", message, self.settings.poll_seconds)
        self.last_error = message

    def start(self, stop: threading.Event) -> threading.Thread:
        """Chain indexing and content fetching, each in its own thread (a hung fetch never stops blocks)."""
        content = threading.Thread(
            target=self.run_content, args=(stop,), name="explorer-content", daemon=True
        )
        content.start()
        thread = threading.Thread(target=self.run, args=(stop,), name="explorer-indexer", daemon=True)
        thread.start()
        return thread

    def cursor(self) -> int:
        cursor = self.follower.cursor()
        return cursor.block if cursor else self.follower.settings.start_block - 1
