"""The receipt log on each database it supports (a SQLite file, a real PostgreSQL server), and replicas
racing on one: each log object below has its own connection, as each replica process has."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from pg import receipt_log_target
from receiptfactory import make_receipt

from worker.billing import DuplicateReceipt, PaymentRequired, ReceiptLog
from worker.billing.errors import BillingError
from worker.chain.deployment import Deployment
from worker.database import DatabaseUnavailable, PostgresDatabase

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return receipt_log_target(request.param, tmp_path, request)


def test_a_unit_is_reserved_answered_and_found_once(target: str) -> None:
    log = ReceiptLog(target)
    log.reserve(7, 0)
    with pytest.raises(PaymentRequired) as in_flight:
        log.reserve(7, 0)
    assert in_flight.value.code == "payment_in_flight"
    receipt = make_receipt(7, 0)
    log.record(receipt, {"label": "positive"}, "0xABC")
    with pytest.raises(DuplicateReceipt):
        log.reserve(7, 0)
    with pytest.raises(DuplicateReceipt):
        log.record(receipt)
    assert log.find(7, 0) == receipt and log.answer(7, 0) == {"label": "positive"}
    assert log.used_indexes(7) == [0] and log.pending(1) == [receipt]
    assert log.payment_txs(1) == {(7, 0): "0xabc"}
    log.reserve(7, 1)
    log.release(7, 1)
    log.reserve(7, 1)  # released: free again
    assert log.find(2**200, 0) is None and log.used_indexes(-1) == []


def test_a_stale_reservation_of_a_dead_process_expires(target: str) -> None:
    log = ReceiptLog(target)
    log.reserve(3, 0, now=1_000.0)
    with pytest.raises(PaymentRequired):
        log.reserve(3, 0, now=1_060.0)
    log.reserve(3, 0, now=1_121.0)  # older than the reservation TTL: the unit may be tried again


def test_three_replicas_racing_fifty_clients_spend_each_unit_once(target: str) -> None:
    replicas = [ReceiptLog(target) for _ in range(3)]
    units, clients = 8, 50
    answered: list[int] = []
    refused: Counter[str] = Counter()
    start = threading.Barrier(clients)

    def client(number: int) -> None:
        """Tries the units in its own order until one is its to answer."""
        log, order = replicas[number % 3], random.Random(number).sample(range(units), units)
        start.wait()
        for index in order:
            try:
                log.reserve(11, index)
                log.record(make_receipt(11, index), {"n": number})
                answered.append(index)
                return
            except DuplicateReceipt:
                refused["answered"] += 1
            except PaymentRequired as exc:
                refused[exc.code] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answered) == list(range(units))  # exactly K answers, no unit twice
    assert set(refused) <= {"answered", "payment_in_flight"}  # the others: a clear refusal per try
    assert replicas[0].count() == len(answered) and replicas[2].used_indexes(11) == sorted(answered)


def test_only_one_holder_has_the_lease_until_it_runs_out_or_is_dropped(target: str) -> None:
    a, b = ReceiptLog(target), ReceiptLog(target)
    assert a.hold_lease("epoch-service", "a", 1.0)
    assert not b.hold_lease("epoch-service", "b", 1.0)
    assert a.hold_lease("epoch-service", "a", 1.0)  # renewed
    holder = b.lease_holder("epoch-service")
    assert holder is not None and holder[0] == "a"
    threading.Event().wait(1.1)
    assert b.hold_lease("epoch-service", "b", 30)  # a died: taken over
    assert not a.hold_lease("epoch-service", "a", 30)
    b.drop_lease("epoch-service", "b")
    assert a.hold_lease("epoch-service", "a", 30)  # dropped on shutdown: at once


def test_excluded_receipts_leave_the_log_and_free_their_units(target: str) -> None:
    log = ReceiptLog(target)
    kept, gone = make_receipt(5, 0), make_receipt(6, 0)
    log.record(kept, None, "0x01")
    log.record(gone, None, "0x02")
    assert log.exclude([gone], "payment 6 vanished in a reorg") == 1
    assert log.exclude([gone], "again") == 0
    assert log.pending(1) == [kept]
    [excluded] = log.excluded(1)
    assert (excluded.receipt, excluded.payment_tx) == (gone, "0x02")
    assert excluded.reason == "payment 6 vanished in a reorg"
    log.reserve(6, 0)  # the unit belongs to whatever payment holds id 6 now


def _deployment(block_hash: str) -> Deployment:
    vault = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    return Deployment(31337, vault, {"RewardVault": vault}, {}, 1, block_hash, "0x" + "00" * 32)


def test_a_log_refuses_another_deployments_receipts(target: str) -> None:
    ReceiptLog(target, _deployment("0x" + "aa" * 32)).close()
    ReceiptLog(target, _deployment("0x" + "aa" * 32)).close()  # the same one: fine
    with pytest.raises(BillingError, match="belongs to deployment"):
        ReceiptLog(target, _deployment("0x" + "bb" * 32))


def test_an_unreachable_postgresql_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    url = f"postgresql://postgres@/openledger?host={tmp_path}&connect_timeout=1"
    with pytest.raises(DatabaseUnavailable, match="cannot reach PostgreSQL"):
        PostgresDatabase(url, "CREATE TABLE t (x BIGINT)")


def test_a_postgresql_restart_costs_no_request_an_error(pg_url: str) -> None:
    log = ReceiptLog(pg_url)
    log.record(make_receipt(9, 0))
    other = ReceiptLog(pg_url)
    with other.database.transaction() as tx:  # what a server restart does to every connection
        tx.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
    assert log.used_indexes(9) == [0]  # the pool checks a connection before lending it


def test_a_stalled_peer_holding_a_row_lock_is_a_503_in_seconds_not_a_hang(pg_url: str) -> None:
    import psycopg

    log = ReceiptLog(pg_url)
    stalled = psycopg.connect(pg_url)  # a replica paused mid-transaction: its reservation is uncommitted
    stalled.execute("INSERT INTO inflight (payment_id, request_index, reserved_at) VALUES (1, 0, 0)")
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="lock timeout"):
            log.reserve(1, 0)
        assert time.monotonic() - started < 5
        assert log.find(99, 0) is None  # other work of the replica goes on meanwhile
    finally:
        stalled.rollback()
        stalled.close()
    log.reserve(1, 0)
