"""The explorer's tables, in the follower's database (worker/daemon/db.py: cursor, block window and the
decoded event log), so the indexed state and the cursor that covers it commit together.

Two kinds of tables:
- chain state, a fold of the protocol's events (handlers.py): rebuilt from the event log on a reorg;
- off-chain content, keyed by CID (content.py): immutable, so a reorg never invalidates it.
Amounts, and every other value an account chooses freely (a contribution's byte and record counts, a
version's counts, a review period, a payment's request count, a claimed leaf index), are decimal strings:
uint64 and uint256 do not fit SQLite's signed 64-bit integers. Ids the contracts count up, and times the
chain sets, are integers.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from worker.daemon.db import Database

EXPLORER_SCHEMA_VERSION = 2  # 2: free-form uint values as TEXT, content keyed by (cid, kind)

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
CONTENT_TABLES = ("content", "attribution", "epoch_amounts")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datanets (
    id INTEGER PRIMARY KEY, owner TEXT NOT NULL, treasury TEXT NOT NULL, metadata_cid TEXT NOT NULL,
    stake TEXT NOT NULL, review_period TEXT NOT NULL, slash_bps INTEGER NOT NULL,
    created_at INTEGER NOT NULL, block INTEGER NOT NULL, tx TEXT NOT NULL,
    contribution_count INTEGER NOT NULL DEFAULT 0, accepted_count INTEGER NOT NULL DEFAULT 0,
    version_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS curators (
    datanet_id INTEGER NOT NULL, curator TEXT NOT NULL, enabled INTEGER NOT NULL, block INTEGER NOT NULL,
    PRIMARY KEY (datanet_id, curator)
);
CREATE TABLE IF NOT EXISTS contributions (
    id INTEGER PRIMARY KEY, datanet_id INTEGER NOT NULL, contributor TEXT NOT NULL, cid TEXT NOT NULL,
    byte_size TEXT NOT NULL, record_count TEXT NOT NULL, stake TEXT NOT NULL,
    submitted_at INTEGER NOT NULL, status TEXT NOT NULL, curator TEXT NOT NULL DEFAULT '',
    reason_cid TEXT NOT NULL DEFAULT '', slashed TEXT NOT NULL DEFAULT '0',
    refunded TEXT NOT NULL DEFAULT '0',
    stake_released INTEGER NOT NULL DEFAULT 0, block INTEGER NOT NULL, tx TEXT NOT NULL,
    reviewed_block INTEGER
);
CREATE INDEX IF NOT EXISTS contributions_by_datanet ON contributions (datanet_id, id);
CREATE INDEX IF NOT EXISTS contributions_by_contributor ON contributions (contributor, id);
CREATE TABLE IF NOT EXISTS versions (
    datanet_id INTEGER NOT NULL, version_id INTEGER NOT NULL, merkle_root TEXT NOT NULL,
    manifest_cid TEXT NOT NULL, record_count TEXT NOT NULL, contribution_count TEXT NOT NULL,
    published_at INTEGER NOT NULL, block INTEGER NOT NULL, tx TEXT NOT NULL,
    PRIMARY KEY (datanet_id, version_id)
);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY, owner TEXT NOT NULL, datanet_id INTEGER NOT NULL, version_id INTEGER NOT NULL,
    base_model TEXT NOT NULL, spec_cid TEXT NOT NULL, price TEXT NOT NULL, live INTEGER NOT NULL DEFAULT 0,
    live_job_id INTEGER, provider TEXT NOT NULL DEFAULT '', adapter_cid TEXT NOT NULL DEFAULT '',
    block INTEGER NOT NULL, tx TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL, requester TEXT NOT NULL, bounty TEXT NOT NULL,
    status TEXT NOT NULL, worker TEXT NOT NULL DEFAULT '', lease_expires_at INTEGER,
    adapter_cid TEXT NOT NULL DEFAULT '', metrics_cid TEXT NOT NULL DEFAULT '',
    attribution_root TEXT NOT NULL DEFAULT '', report_cid TEXT NOT NULL DEFAULT '',
    challenge_deadline INTEGER, block INTEGER NOT NULL, tx TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_model ON jobs (model_id, id);
CREATE TABLE IF NOT EXISTS job_events (
    job_id INTEGER NOT NULL, block INTEGER NOT NULL, log_index INTEGER NOT NULL, name TEXT NOT NULL,
    detail TEXT NOT NULL, tx TEXT NOT NULL, PRIMARY KEY (block, log_index)
);
CREATE INDEX IF NOT EXISTS job_events_by_job ON job_events (job_id, block, log_index);
CREATE TABLE IF NOT EXISTS workers (
    address TEXT PRIMARY KEY, stake TEXT NOT NULL, endpoint TEXT NOT NULL, registered_at INTEGER NOT NULL,
    locked TEXT NOT NULL DEFAULT '0', slashed TEXT NOT NULL DEFAULT '0', withdrawable_at INTEGER,
    status TEXT NOT NULL, block INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL, payer TEXT NOT NULL, request_count TEXT NOT NULL,
    amount TEXT NOT NULL, treasury_share TEXT NOT NULL, owner_share TEXT NOT NULL,
    provider_share TEXT NOT NULL, contributors_share TEXT NOT NULL, block INTEGER NOT NULL, tx TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_payer ON payments (payer, id);
CREATE TABLE IF NOT EXISTS epochs (
    model_id INTEGER NOT NULL, epoch INTEGER NOT NULL, poster TEXT NOT NULL, root TEXT NOT NULL,
    total TEXT NOT NULL, report_cid TEXT NOT NULL, status TEXT NOT NULL, challenge_deadline INTEGER,
    claim_deadline INTEGER, collateral TEXT NOT NULL, unclaimed TEXT NOT NULL DEFAULT '0',
    block INTEGER NOT NULL, tx TEXT NOT NULL, PRIMARY KEY (model_id, epoch)
);
CREATE TABLE IF NOT EXISTS claims (
    model_id INTEGER NOT NULL, epoch INTEGER NOT NULL, leaf_index TEXT NOT NULL, account TEXT NOT NULL,
    amount TEXT NOT NULL, block INTEGER NOT NULL, tx TEXT NOT NULL, PRIMARY KEY (model_id, epoch, leaf_index)
);
CREATE INDEX IF NOT EXISTS claims_by_account ON claims (account);
CREATE TABLE IF NOT EXISTS credits (
    contract TEXT NOT NULL, account TEXT NOT NULL, balance TEXT NOT NULL, credited TEXT NOT NULL,
    withdrawn TEXT NOT NULL, block INTEGER NOT NULL, PRIMARY KEY (contract, account)
);
CREATE TABLE IF NOT EXISTS block_times (number INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS credits_by_account ON credits (account);
CREATE TABLE IF NOT EXISTS content (
    cid TEXT NOT NULL, kind TEXT NOT NULL, ok INTEGER NOT NULL, body TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 1, tried_at REAL NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0, PRIMARY KEY (cid, kind)
);
CREATE TABLE IF NOT EXISTS attribution (
    report_cid TEXT NOT NULL, party TEXT NOT NULL, key TEXT NOT NULL, records INTEGER NOT NULL,
    positive REAL NOT NULL, negative REAL NOT NULL, weight REAL NOT NULL, flagged INTEGER NOT NULL,
    model_level REAL, PRIMARY KEY (report_cid, party, key)
);
CREATE INDEX IF NOT EXISTS attribution_by_key ON attribution (party, key);
CREATE TABLE IF NOT EXISTS epoch_amounts (
    report_cid TEXT NOT NULL, account TEXT NOT NULL, leaf_index INTEGER NOT NULL, amount TEXT NOT NULL,
    PRIMARY KEY (report_cid, account)
);
CREATE INDEX IF NOT EXISTS epoch_amounts_by_account ON epoch_amounts (account);
CREATE TABLE IF NOT EXISTS indexing_problems (
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, contract TEXT NOT NULL, name TEXT NOT NULL,
    tx TEXT NOT NULL, error TEXT NOT NULL, PRIMARY KEY (block, log_index)
);
"""


class ExplorerDatabase(Database):
    """The follower's database plus the explorer's tables (one SQLite file per deployment)."""

    def __init__(self, path: str | Path):
        super().__init__(path)
        with self.transaction() as db:
            found = db.execute("SELECT value FROM meta WHERE key = 'explorer_schema'").fetchone()
            if found is not None and int(found["value"]) != EXPLORER_SCHEMA_VERSION:
                # An index of an older layout: its tables go, and the Indexer folds the kept event log
                # into the new ones (`needs_replay` stays set until it has, whatever happens in between).
                for table in (*CHAIN_TABLES, *CONTENT_TABLES):
                    db.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608 - table names are constants
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('explorer_replay', '1')")
            _create(db)
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('explorer_schema', ?)",
                (str(EXPLORER_SCHEMA_VERSION),),
            )


def _create(db: sqlite3.Connection) -> None:
    # executescript would COMMIT the caller's transaction: run the statements one by one inside it.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def needs_replay(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM meta WHERE key = 'explorer_replay'").fetchone() is not None


def replayed(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM meta WHERE key = 'explorer_replay'")
