"""The one way OpenLedger opens SQLite: WAL, synchronous=FULL (a commit survives kill -9 and power loss),
and writes in `transaction()` (BEGIN IMMEDIATE, so a writer holds the lock from its first statement and a
batch of effects commits together or not at all).

One connection per database object, shared by the object's threads under a re-entrant lock (what the
HTTP server's thread pool and the daemon's heartbeat thread need): no connection per thread to leak when
a pool retires its threads, and `close()` waits for the statement in progress. Other processes on the
same file coordinate through SQLite's own locking (busy timeout below).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_S = 30.0


class SqliteDatabase:
    def __init__(self, path: str | Path, schema: str = ""):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0  # transaction nesting of the thread holding the lock
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        if schema:
            with self._lock:
                self._conn.executescript(schema)  # executescript commits on its own

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write; nested calls (same thread) join the caller's transaction. A COMMIT that fails
        is rolled back, so the connection never stays inside a transaction nobody will finish."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._end("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except BaseException:
                self._end("ROLLBACK")
                raise
            self._depth = 0

    def _end(self, statement: str) -> None:
        self._depth = 0
        if self._conn.in_transaction:
            try:
                self._conn.execute(statement)
            except sqlite3.Error:  # the error that brought us here is the one to report
                pass

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params))

    def close(self) -> None:
        """Close the connection once the statement or transaction in progress is done; any later use
        raises sqlite3.ProgrammingError."""
        with self._lock:
            self._conn.close()
