"""The SQLite helper under the conditions serving creates: a thread pool that retires its threads, close()
while requests are in flight, a COMMIT that fails, nested transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from worker.sqlite import SqliteDatabase

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_short_lived_threads_do_not_leak_connections(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "db.sqlite", SCHEMA)
    before = _open_fds()
    for i in range(200):  # like a thread pool retiring idle workers between bursts
        worker = threading.Thread(target=_write, args=(db, i))
        worker.start()
        worker.join()
    assert _open_fds() - before <= 2
    assert db.query("SELECT COUNT(*) AS n FROM t")[0]["n"] == 200


def _write(db: SqliteDatabase, key: int) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO t (k, v) VALUES (?, 'x')", (key,))


def test_close_while_threads_write_fails_them_cleanly(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "db.sqlite", SCHEMA)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(offset: int) -> None:
        key = offset
        while not stop.is_set():
            try:
                _write(db, key)
            except sqlite3.ProgrammingError as exc:  # closed: a clean error, not a crash
                errors.append(exc)
                return
            key += 8

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    threading.Event().wait(0.05)
    db.close()
    stop.set()
    for t in threads:
        t.join()
    assert errors  # the process is still here, and the writers were told
    with pytest.raises(sqlite3.ProgrammingError):
        db.query("SELECT 1")


def test_a_failed_commit_is_rolled_back_and_the_next_write_is_real(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    schema = (
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) "
        "DEFERRABLE INITIALLY DEFERRED);" + SCHEMA
    )
    db = SqliteDatabase(path, schema)
    db.query("PRAGMA foreign_keys = ON")
    with pytest.raises(sqlite3.IntegrityError):
        with db.transaction() as conn:
            conn.execute("INSERT INTO child (id, parent) VALUES (1, 99)")  # fails only at COMMIT
    _write(db, 7)
    other = sqlite3.connect(path)
    assert other.execute("SELECT k FROM t").fetchall() == [(7,)]  # committed, not stuck in a transaction
    assert other.execute("SELECT COUNT(*) FROM child").fetchone() == (0,)


def test_nested_transactions_commit_together(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "db.sqlite", SCHEMA)
    with pytest.raises(RuntimeError):
        with db.transaction() as outer:
            outer.execute("INSERT INTO t (k, v) VALUES (1, 'a')")
            with db.transaction() as inner:
                inner.execute("INSERT INTO t (k, v) VALUES (2, 'b')")
            raise RuntimeError("the outer write fails after the inner one")
    assert db.query("SELECT COUNT(*) AS n FROM t")[0]["n"] == 0
