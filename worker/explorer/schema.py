"""The explorer's tables, with the follower's (worker/daemon/follower.py: cursor, block window and the
decoded event log) in the same database, so the indexed state and the cursor that covers it commit
together. The database is SQLite (a file) or PostgreSQL (a URL), through worker/database.py: the SQL here,
in handlers.py, content.py and queries.py is written once in the dialect both accept.

Two kinds of tables:
- chain state, a fold of the protocol's events (handlers.py): rebuilt from the event log on a reorg;
- off-chain content, keyed by CID (content.py): immutable, so a reorg never invalidates it.
Amounts, and every other value an account chooses freely (a contribution's byte and record counts, a
version's counts, a review period, a payment's request count, a claimed leaf index), are decimal strings:
uint64 and uint256 do not fit signed 64-bit integers (SQLite's INTEGER, PostgreSQL's BIGINT). Ids the
contracts count up, and times the chain sets, are BIGINT.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from worker.daemon.follower import FOLLOWER_SCHEMA
from worker.database import Database, Dialect, Row, Transaction, open_database

# 2: free-form uint values as TEXT, content keyed by (cid, kind); 3: portable SQL (SQLite or PostgreSQL),
# version manifests
EXPLORER_SCHEMA_VERSION = 4

# Tables whose rows are derived from chain events: emptied and replayed on a reorg (handlers.replay).
CHAIN_TABLES = (
    "datanets",
    "curators",
    "contributions",
    "versions",
    "models",
    "jobs",
    "job_events",
    "workers",
    "payments",
    "epochs",
    "claims",
    "credits",
    "indexing_problems",
)
# Tables of off-chain content: kept across reorgs, dropped (and fetched again) when the schema changes.
CONTENT_TABLES = ("content", "attribution", "epoch_amounts", "manifest_entries")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datanets (
    id BIGINT PRIMARY KEY, owner TEXT NOT NULL, treasury TEXT NOT NULL, metadata_cid TEXT NOT NULL,
    stake TEXT NOT NULL, review_period TEXT NOT NULL, slash_bps BIGINT NOT NULL,
    created_at BIGINT NOT NULL, block BIGINT NOT NULL, tx TEXT NOT NULL,
    contribution_count BIGINT NOT NULL DEFAULT 0, accepted_count BIGINT NOT NULL DEFAULT 0,
    version_count BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS curators (
    datanet_id BIGINT NOT NULL, curator TEXT NOT NULL, enabled BIGINT NOT NULL, block BIGINT NOT NULL,
    PRIMARY KEY (datanet_id, curator)
);
CREATE TABLE IF NOT EXISTS contributions (
    id BIGINT PRIMARY KEY, datanet_id BIGINT NOT NULL, contributor TEXT NOT NULL, cid TEXT NOT NULL,
    byte_size TEXT NOT NULL, record_count TEXT NOT NULL, stake TEXT NOT NULL,
    submitted_at BIGINT NOT NULL, status TEXT NOT NULL, curator TEXT NOT NULL DEFAULT '',
    reason_cid TEXT NOT NULL DEFAULT '', slashed TEXT NOT NULL DEFAULT '0',
    refunded TEXT NOT NULL DEFAULT '0',
    stake_released BIGINT NOT NULL DEFAULT 0, block BIGINT NOT NULL, tx TEXT NOT NULL,
    reviewed_block BIGINT
);
CREATE INDEX IF NOT EXISTS contributions_by_datanet ON contributions (datanet_id, id);
CREATE INDEX IF NOT EXISTS contributions_by_contributor ON contributions (contributor, id);
CREATE TABLE IF NOT EXISTS versions (
    datanet_id BIGINT NOT NULL, version_id BIGINT NOT NULL, merkle_root TEXT NOT NULL,
    manifest_cid TEXT NOT NULL, record_count TEXT NOT NULL, contribution_count TEXT NOT NULL,
    published_at BIGINT NOT NULL, block BIGINT NOT NULL, tx TEXT NOT NULL,
    PRIMARY KEY (datanet_id, version_id)
);
CREATE TABLE IF NOT EXISTS models (
    id BIGINT PRIMARY KEY, owner TEXT NOT NULL, datanet_id BIGINT NOT NULL, version_id BIGINT NOT NULL,
    base_model TEXT NOT NULL, spec_cid TEXT NOT NULL, price TEXT NOT NULL, live BIGINT NOT NULL DEFAULT 0,
    live_job_id BIGINT, provider TEXT NOT NULL DEFAULT '', adapter_cid TEXT NOT NULL DEFAULT '',
    parent_model_id BIGINT, parent_job_id BIGINT, lineage_depth BIGINT NOT NULL DEFAULT 0,
    block BIGINT NOT NULL, tx TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS models_by_parent ON models (parent_model_id, id);
CREATE TABLE IF NOT EXISTS jobs (
    id BIGINT PRIMARY KEY, model_id BIGINT NOT NULL, requester TEXT NOT NULL, bounty TEXT NOT NULL,
    status TEXT NOT NULL, worker TEXT NOT NULL DEFAULT '', lease_expires_at BIGINT,
    adapter_cid TEXT NOT NULL DEFAULT '', metrics_cid TEXT NOT NULL DEFAULT '',
    attribution_root TEXT NOT NULL DEFAULT '', report_cid TEXT NOT NULL DEFAULT '',
    challenge_deadline BIGINT, block BIGINT NOT NULL, tx TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_model ON jobs (model_id, id);
CREATE TABLE IF NOT EXISTS job_events (
    job_id BIGINT NOT NULL, block BIGINT NOT NULL, log_index BIGINT NOT NULL, name TEXT NOT NULL,
    detail TEXT NOT NULL, tx TEXT NOT NULL, PRIMARY KEY (block, log_index)
);
CREATE INDEX IF NOT EXISTS job_events_by_job ON job_events (job_id, block, log_index);
CREATE TABLE IF NOT EXISTS workers (
    address TEXT PRIMARY KEY, stake TEXT NOT NULL, endpoint TEXT NOT NULL, registered_at BIGINT NOT NULL,
    locked TEXT NOT NULL DEFAULT '0', slashed TEXT NOT NULL DEFAULT '0', withdrawable_at BIGINT,
    status TEXT NOT NULL, block BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    id BIGINT PRIMARY KEY, model_id BIGINT NOT NULL, payer TEXT NOT NULL, request_count TEXT NOT NULL,
    amount TEXT NOT NULL, treasury_share TEXT NOT NULL, owner_share TEXT NOT NULL,
    provider_share TEXT NOT NULL, contributors_share TEXT NOT NULL, block BIGINT NOT NULL, tx TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_payer ON payments (payer, id);
CREATE TABLE IF NOT EXISTS epochs (
    model_id BIGINT NOT NULL, epoch BIGINT NOT NULL, poster TEXT NOT NULL, root TEXT NOT NULL,
    total TEXT NOT NULL, report_cid TEXT NOT NULL, status TEXT NOT NULL, challenge_deadline BIGINT,
    claim_deadline BIGINT, collateral TEXT NOT NULL, unclaimed TEXT NOT NULL DEFAULT '0',
    block BIGINT NOT NULL, tx TEXT NOT NULL, PRIMARY KEY (model_id, epoch)
);
CREATE TABLE IF NOT EXISTS claims (
    model_id BIGINT NOT NULL, epoch BIGINT NOT NULL, leaf_index TEXT NOT NULL, account TEXT NOT NULL,
    amount TEXT NOT NULL, block BIGINT NOT NULL, tx TEXT NOT NULL, PRIMARY KEY (model_id, epoch, leaf_index)
);
CREATE INDEX IF NOT EXISTS claims_by_account ON claims (account);
CREATE TABLE IF NOT EXISTS credits (
    contract TEXT NOT NULL, account TEXT NOT NULL, balance TEXT NOT NULL, credited TEXT NOT NULL,
    withdrawn TEXT NOT NULL, block BIGINT NOT NULL, PRIMARY KEY (contract, account)
);
CREATE TABLE IF NOT EXISTS block_times (number BIGINT PRIMARY KEY, timestamp BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS credits_by_account ON credits (account);
CREATE TABLE IF NOT EXISTS content (
    cid TEXT NOT NULL, kind TEXT NOT NULL, ok BIGINT NOT NULL, body TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '', attempts BIGINT NOT NULL DEFAULT 1,
    tried_at DOUBLE PRECISION NOT NULL DEFAULT 0, next_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (cid, kind)
);
CREATE TABLE IF NOT EXISTS attribution (
    report_cid TEXT NOT NULL, party TEXT NOT NULL, key TEXT NOT NULL, records BIGINT NOT NULL,
    positive DOUBLE PRECISION NOT NULL, negative DOUBLE PRECISION NOT NULL,
    weight DOUBLE PRECISION NOT NULL, flagged BIGINT NOT NULL, model_level DOUBLE PRECISION,
    PRIMARY KEY (report_cid, party, key)
);
CREATE INDEX IF NOT EXISTS attribution_by_key ON attribution (party, key);
CREATE TABLE IF NOT EXISTS epoch_amounts (
    report_cid TEXT NOT NULL, account TEXT NOT NULL, leaf_index BIGINT NOT NULL, amount TEXT NOT NULL,
    PRIMARY KEY (report_cid, account)
);
CREATE INDEX IF NOT EXISTS epoch_amounts_by_account ON epoch_amounts (account);
CREATE TABLE IF NOT EXISTS manifest_entries (
    manifest_cid TEXT NOT NULL, contribution_id BIGINT NOT NULL, contributor TEXT NOT NULL, cid TEXT NOT NULL,
    record_count BIGINT NOT NULL, byte_size TEXT NOT NULL, PRIMARY KEY (manifest_cid, contribution_id)
);
CREATE INDEX IF NOT EXISTS manifest_entries_by_contributor ON manifest_entries (manifest_cid, contributor);
CREATE TABLE IF NOT EXISTS indexing_problems (
    block BIGINT NOT NULL, log_index BIGINT NOT NULL, contract TEXT NOT NULL, name TEXT NOT NULL,
    tx TEXT NOT NULL, error TEXT NOT NULL, PRIMARY KEY (block, log_index)
);
"""


class ExplorerDatabase:
    """The explorer's index: a SQLite file or a PostgreSQL database (`postgresql://…`), with the
    follower's tables and the explorer's. A FollowerStore (worker/daemon/follower.py) whose transactions
    are worker/database.py's; reads answer dicts of column name to value. A server that is down, or a
    file locked by another process, raises DatabaseUnavailable (the API's 503)."""

    def __init__(self, target: str | Path):
        self.database: Database = open_database(target, FOLLOWER_SCHEMA + _SCHEMA)
        self.dialect: Dialect = self.database.dialect
        self.location: str = self.database.location
        with self.transaction() as tx:
            found = tx.execute("SELECT value FROM meta WHERE key = 'explorer_schema'").one()
            if found is not None and int(found[0]) != EXPLORER_SCHEMA_VERSION:
                # An index of an older layout: its tables go, and the Indexer folds the kept event log
                # into the new ones (`needs_replay` stays set until it has, whatever happens in between).
                for table in (*CHAIN_TABLES, *CONTENT_TABLES, "block_times"):
                    tx.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608 - table names are constants
                _set_meta(tx, "explorer_replay", "1")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        tx.execute(statement)
            _set_meta(tx, "explorer_schema", str(EXPLORER_SCHEMA_VERSION))

    @property
    def path(self) -> str:
        """Where the index is, for messages: the SQLite file, or the PostgreSQL URL without its password."""
        return self.location

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.database.transaction() as tx:
            yield tx

    def statements(self, tx: Transaction) -> Transaction:
        return tx

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Rows as the database answers them (indexable by position)."""
        return self.database.query(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.database.transaction() as tx:
            result = tx.execute(sql, params)
            return [dict(zip(result.columns, row, strict=True)) for row in result.rows]

    def meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as tx:
            _set_meta(tx, key, value)

    def close(self) -> None:
        self.database.close()


def _set_meta(tx: Transaction, key: str, value: str) -> None:
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def needs_replay(tx: Transaction) -> bool:
    return tx.execute("SELECT 1 FROM meta WHERE key = 'explorer_replay'").one() is not None


def replayed(tx: Transaction) -> None:
    tx.execute("DELETE FROM meta WHERE key = 'explorer_replay'")
