"""Adversarial review of issue 13 (replicas on one database, finality, leases): each test performs one
attack or operator accident and asserts that it fails. Each docstring says what went wrong before the
fix, and where. No chain is needed: the receipt log and the payment index are
driven directly, on SQLite and on the real PostgreSQL of tests/pg.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from pg import receipt_log_target
from receiptfactory import make_receipt

from worker.billing import ReceiptLog
from worker.billing.errors import BillingError
from worker.billing.payment_index import PaymentIndex
from worker.billing.receipt_log import EpochState
from worker.chain.finality import Finality
from worker.errors import OpenLedgerError
from worker.rewards.epoch_service import EPOCH_LEASE
from worker.serve.app import off_loop
from worker.serve.errors import ServeError

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return receipt_log_target(request.param, tmp_path, request)


def _http_status(fn) -> int:  # type: ignore[no-untyped-def]
    """The HTTP status the API's `off_loop` wrapper gives an exception raised by `fn` (200 if none)."""
    try:
        asyncio.run(off_loop(fn))
    except ServeError as exc:
        return exc.status
    except OpenLedgerError:
        return 503  # the app's OpenLedgerError handler: backend_unavailable
    return 200


# -- 1. one stuck peer transaction freezes a whole replica (PostgreSQL) ------------------------------


def test_a_peer_stalled_mid_transaction_does_not_freeze_unrelated_requests(pg_url: str) -> None:
    """Was a bug (availability, PostgreSQL). PostgresDatabase keeps ONE connection per process behind a
    process-wide RLock held for the whole statement, and sets no lock_timeout / statement_timeout /
    idle_in_transaction_session_timeout / TCP keepalives. A replica that stalls inside a transaction
    (SIGSTOP, VM pause, network partition: PostgreSQL keeps its locks until TCP keepalive, ~2 h) holds a
    row lock; the next replica that touches that row (here: the same unit's `inflight` row; equally the
    `payment_cursor` row every sync updates, or the lease row) waits forever while holding its own RLock,
    so EVERY other request of that replica (an unrelated receipt lookup here) hangs too."""
    import psycopg

    log = ReceiptLog(pg_url)
    stalled = psycopg.connect(pg_url)  # the stalled peer: an uncommitted reservation of unit (1, 0)
    stalled.execute("INSERT INTO inflight (payment_id, request_index, reserved_at) VALUES (1, 0, 0)")
    blocked = threading.Thread(target=lambda: _ignore(lambda: log.reserve(1, 0)), daemon=True)
    blocked.start()
    time.sleep(0.5)  # the reservation now waits on the peer's row lock, holding the process's lock
    done = threading.Event()
    other = threading.Thread(target=lambda: (log.find(99, 0), done.set()), daemon=True)
    other.start()
    unrelated_answered = done.wait(3.0)
    blocked.join(4.0)  # the lock timeout (2 s) ends the wait with a 503-mapped error
    still_waiting = blocked.is_alive()
    stalled.rollback()  # un-stall, so the threads end and the test leaves nothing behind
    stalled.close()
    blocked.join(10)
    other.join(10)
    log.close()
    assert unrelated_answered, "an unrelated lookup hung behind another unit's lock wait"
    assert not still_waiting, "a row lock of a stalled peer is waited on without any lock_timeout"


def _ignore(fn) -> None:  # type: ignore[no-untyped-def]
    try:
        fn()
    except Exception:  # noqa: BLE001
        pass


# -- 2. database errors that are not "connection lost" become HTTP 500 -------------------------------


def test_a_busy_sqlite_log_is_a_503_not_a_500(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was a bug (error mapping, SQLite). database.py promises DatabaseUnavailable (503 + Retry-After) for a
    database that cannot serve now, but _SqliteTransaction maps only IntegrityError and
    SqliteDatabase.transaction's BEGIN IMMEDIATE is not wrapped at all: another process holding the
    write lock past the busy timeout (30 s; 0.2 s here), a full disk or an I/O error raise a bare
    sqlite3.OperationalError, which the API answers with HTTP 500 internal_error."""
    import sqlite3

    import worker.sqlite

    monkeypatch.setattr(worker.sqlite, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "receipts.sqlite"
    log = ReceiptLog(path)
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # e.g. a second `serve` on the same file mid-write
    try:
        status = _http_status(lambda: log.reserve(5, 0))
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
        log.close()
    assert status == 503


def test_a_request_index_beyond_int64_is_a_4xx_not_a_500(target: str) -> None:
    """Was a bug (error mapping, both backends; low severity). Ids are parsed as uint256, the gate admits any
    index below the payment's request_count (a uint256: 2**63 + 1 units of a 1-wei model cost ~9.2
    OPEN), but the log's columns are BIGINT. `find`/`answer`/`used_indexes` guard with `_storable`,
    `reserve`/`record`/`release` do not: SQLite raises OverflowError, psycopg NumericValueOutOfRange
    (a DataError, not mapped by _PostgresTransaction), and the API answers HTTP 500."""
    log = ReceiptLog(target)
    try:
        status = _http_status(lambda: log.reserve(1, 2**63))
        assert log.find(1, 0) is None  # the connection is still usable after the error
    finally:
        log.close()
    assert 400 <= status < 500 or status == 503, f"HTTP {status}"


# -- 3. two epoch services at once --------------------------------------------------------------------


def test_replicas_in_containers_do_not_share_one_lease_holder_name(target: str) -> None:
    """Two epoch services at once if holders collide: replicas in containers run as PID 1 and, with host
    networking or a fixed `hostname:`, share the hostname. Each process's holder carries a random token,
    so two such processes (two real interpreters here) are two holders and only one leads."""
    probe = (
        "import os, socket; socket.gethostname = lambda: 'worker'; os.getpid = lambda: 1\n"
        "from worker.rewards.epoch_service import default_holder; print(default_holder())"
    )
    holder_a, holder_b = (
        subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
        .stdout.strip()
        for _ in range(2)
    )
    assert holder_a.startswith("worker:1:") and holder_a != holder_b
    replica_a, replica_b = ReceiptLog(target), ReceiptLog(target)  # two processes, two connections
    try:
        a_leads = replica_a.hold_lease(EPOCH_LEASE, holder_a, 120)
        b_leads = replica_b.hold_lease(EPOCH_LEASE, holder_b, 120)
    finally:
        replica_a.close()
        replica_b.close()
    assert a_leads and not b_leads, "two replicas hold the epoch lease at the same time"


def test_a_stale_epoch_service_cannot_reopen_an_epoch_another_replica_posted(target: str) -> None:
    """Was a bug (double payout, a root `verify` rejects). `release_epoch(struck=False)` frees an epoch's
    receipts whatever state the epoch is in, and EpochService._post calls it without `_fence()` (on a
    collateral shortfall, or when `_vanished` finds a payment gone). A replica whose lease ran out
    mid-tick (a tick longer than --lease-seconds: slow RPC, GC pause, SIGSTOP) reads status NONE, then
    the new leader posts the epoch (locking collateral, so the stale one now sees a shortfall), then
    the stale one reopens it: the POSTED row is deleted and its receipts are pending again, so the next
    epoch pays them a second time (verify: "already paid in an earlier epoch"). The state transition
    must be guarded in SQL (only a 'closed' epoch may be reopened) and fenced in the same transaction."""
    log = ReceiptLog(target)
    try:
        receipts = [make_receipt(21, i) for i in range(3)]
        for r in receipts:
            log.record(r, {"ok": True}, "0xaa")
        log.close_epoch(1, 0, 100, receipts, manifest_block=5)
        # the new leader posted epoch 0 on-chain and recorded it
        log.update_epoch(1, 0, EpochState.POSTED, root="0x" + "ab" * 32, total=30, report_cid="bafy")
        # the stale leader, acting on what it read before that post, is refused
        with pytest.raises(BillingError, match="not closed"):
            log.release_epoch(1, 0, struck=False)
        pending_again = log.pending(1)
        posted = log.epochs(1, (EpochState.POSTED,))
    finally:
        log.close()
    assert pending_again == [] and len(posted) == 1, (
        f"a posted epoch was reopened: {len(pending_again)} receipt(s) pending again, to be paid twice"
    )


# -- 4. replicas sharing one payment index with different finality rules ----------------------------


def _fake_client(chain_id: int = 5) -> SimpleNamespace:
    deployment = SimpleNamespace(chain_id=chain_id, block_number=10, block_hash="0x" + "cd" * 32)
    return SimpleNamespace(
        deployment=deployment,
        sender=SimpleNamespace(chain_id=chain_id),
        vault=SimpleNamespace(address="0x" + "12" * 20),
    )


def test_replicas_with_another_finality_rule_may_not_share_a_payment_index(target: str) -> None:
    """Was a bug (finality bypass, operator). The index's docstring: "only final blocks are indexed: an
    indexed payment is final", and lookups and the epoch service's recheck treat an indexed payment as
    final. But the cursor is advanced by whichever replica syncs, by ITS finality: one replica started
    with `--confirmations 1` on a database shared with replicas on the `finalized` tag (or 12 blocks)
    indexes head blocks, and every replica then honours head-block payments as final, which is the
    reorg-and-free-answers attack of issue 13 again. The deployment is checked on open; the finality
    rule is not. Store it with the cursor and refuse a mismatch."""
    careful = PaymentIndex(_fake_client(), Finality.finalized_tag(), target)  # type: ignore[arg-type]
    try:
        with pytest.raises(Exception, match="(?i)final"):
            hasty = PaymentIndex(_fake_client(), Finality(1), target)  # type: ignore[arg-type]
            hasty.close()
    finally:
        careful.close()
