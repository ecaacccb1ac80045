"""The worker's durable state in one SQLite file: follower cursor and block-hash window, the decoded
events it has applied, the job table, and the outbox of signed transactions.

Opened the one way (worker/sqlite.py): the effects of a batch of logs and the cursor that covers them
commit together or not at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from worker.database import Result, Transaction
from worker.sqlite import SqliteDatabase

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    block INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX IF NOT EXISTS events_by_name ON events (name);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject INTEGER NOT NULL,
    origin_block INTEGER NOT NULL,
    origin_tx TEXT NOT NULL,
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    lease_expires_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_runnable ON tasks (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS outbox (
    tx_hash TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    action TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    raw TEXT NOT NULL,
    state TEXT NOT NULL,
    block INTEGER,
    error TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
"""


class SqliteStatements(Transaction):
    """The follower's dialect-neutral statements on the worker's connection (errors stay sqlite3's)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        cursor = self._conn.execute(sql, tuple(params))
        rows = cursor.fetchall() if cursor.description else []
        return Result(cursor.rowcount, rows, [column[0] for column in cursor.description or ()])


class Database(SqliteDatabase):
    """A FollowerStore (worker/daemon/follower.py) whose transactions are the sqlite3 connection."""

    def __init__(self, path: str | Path):
        super().__init__(path, _SCHEMA)
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def statements(self, tx: sqlite3.Connection) -> Transaction:
        return SqliteStatements(tx)

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self.query(sql, params)

    def meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
