"""The payment index on a real Anvil, on SQLite and on a real PostgreSQL: final payments indexed and read
without RPC, unknown ids at a bounded cost, shallow payments unconfirmed until final, a reorg that gives
a payment id to another payer caught by `recheck`, replicas syncing one database at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg import receipt_log_target
from rpc_counter import counted_client

from worker.billing import PaymentBook, PaymentGate, PaymentIndex, PaymentRequired
from worker.chain.devnet import LocalChain
from worker.chain.finality import Finality
from worker.demo.scenarios import fund, live_model

PAYER_A, PAYER_B, SERVER = 4, 5, 0


@pytest.fixture(scope="module")
def paid_model(admin_devnet_session: LocalChain) -> Iterator[tuple[LocalChain, int]]:
    """A live model (its first payment made by account 9) and two funded payers, set up once."""
    chain = admin_devnet_session
    snapshot = chain.dev.snapshot()
    try:
        model_id, _ = live_model(chain)
        fund(chain, (PAYER_A, PAYER_B))
        yield chain, model_id
    finally:
        chain.dev.revert(snapshot)


@pytest.fixture
def market(paid_model: tuple[LocalChain, int]) -> Iterator[tuple[LocalChain, int]]:
    chain = paid_model[0]
    snapshot = chain.dev.snapshot()
    try:
        yield paid_model
    finally:
        chain.dev.revert(snapshot)


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return receipt_log_target(request.param, tmp_path, request)


def pay(chain: LocalChain, model_id: int, payer: int = PAYER_A, count: int = 2) -> tuple[int, str]:
    paid = chain.client(payer).vault.pay_for_inference(model_id, count)
    assert paid.created_id is not None
    return paid.created_id, paid.tx_hash


def test_sync_indexes_final_payments_and_reads_them_without_rpc(market, target) -> None:
    chain, model_id = market
    ids = [pay(chain, model_id, count=n)[0] for n in (1, 2, 3)]
    client, rpc = counted_client(chain, SERVER, max_log_range=5)
    index = PaymentIndex(client, Finality(1), target, sync_interval_s=60)
    try:
        assert index.sync(force=True) == chain.dev.block_number()
        assert index.count() == ids[-1]  # every payment of the deployment, from id 1 on
        rpc.reset()
        for pid in ids:
            found = index.lookup(pid)
            assert found.final and found.payment == chain.client(0).vault.get_payment(pid)
        assert rpc.calls == []  # indexed: a database read, no RPC
        assert index.lookup(0).payment is None and index.lookup(2**200).payment is None
        assert rpc.calls == []
        # Another replica opening the same database sees the rows; another deployment may not use it.
        other = PaymentIndex(chain.client(SERVER), Finality(1), target)
        assert other.indexed(ids[0]) == index.indexed(ids[0]) and other.count() == index.count()
        other.close()
    finally:
        index.close()


def test_unknown_ids_cost_a_bounded_number_of_rpc_calls(market) -> None:
    chain, model_id = market
    known, _ = pay(chain, model_id)
    chain.dev.mine(30)
    client, rpc = counted_client(chain, SERVER, max_log_range=8)
    book = PaymentBook(client, index=PaymentIndex(client, Finality(1), sync_interval_s=60))
    assert book.confirmed(known).payer == chain.client(PAYER_A).address
    rpc.reset()
    for _ in range(50):  # a flood of one made-up id: one lookup, then from memory
        assert book.status(known + 1000).payment is None
    assert rpc.count("eth_getLogs") <= 2
    with pytest.raises(PaymentRequired) as unknown:
        book.confirmed(known + 1000)
    assert unknown.value.code == "payment_unknown"
    rpc.reset()
    for pid in range(1, known):  # ids below the highest indexed one: decided by the index alone
        assert book.status(pid).final
    assert rpc.calls == []
    book.index.sync_interval_s = 0.5  # the default
    rpc.reset()
    started = time.monotonic()
    for pid in range(known + 1, known + 41):  # forty distinct new ids
        assert book.status(pid).payment is None
    syncs = (time.monotonic() - started) / 0.5 + 1
    # one small eth_getLogs each, above the index (never from the deployment block), plus ~2 syncs a second
    assert rpc.count("eth_getLogs") <= 40 + syncs
    head = chain.dev.block_number()
    assert all(int(p[0]["fromBlock"], 16) > head - 8 for p in rpc.params_of("eth_getLogs"))


@pytest.mark.parametrize("read", ["indexed", "cursor"])
def test_a_payment_indexed_by_another_replica_mid_lookup_is_found(market, target, read: str) -> None:
    """Another replica commits the piece holding the payment right after one of this lookup's reads (the
    payment's row, or the cursor it searches above): the payment is found, never called unknown (the
    race CI caught with twelve copies of one unit)."""
    chain, model_id = market
    index = PaymentIndex(chain.client(SERVER), Finality(1), target, sync_interval_s=60)
    other = PaymentIndex(chain.client(SERVER), Finality(1), target, sync_interval_s=60)
    try:
        index.sync(force=True)
        pid, _ = pay(chain, model_id)
        real, interleaved = getattr(index, read), []

        def other_replica_commits_around(*args: int):
            if read == "cursor" and not interleaved:
                interleaved.append(other.sync(force=True))
            value = real(*args)
            if read == "indexed" and not interleaved:
                interleaved.append(other.sync(force=True))
            return value

        setattr(index, read, other_replica_commits_around)
        found = index.lookup(pid)
        assert interleaved and found.final and found.payment is not None and found.payment.payment_id == pid
    finally:
        index.close()
        other.close()


def test_a_shallow_payment_is_unconfirmed_until_final(market) -> None:
    chain, model_id = market
    book = PaymentBook(chain.client(SERVER), finality=Finality(3))
    assert book.confirmations == 3
    pid, _ = pay(chain, model_id)
    found = book.status(pid)
    assert (found.confirmations, found.final) == (1, False)
    with pytest.raises(PaymentRequired, match="has 1 of the 3 confirmations") as shallow:
        book.confirmed(pid)
    assert shallow.value.code == "payment_unconfirmed"
    chain.dev.mine(2)
    assert book.confirmed(pid).payment_id == pid
    book.index.sync(force=True)
    assert book.index.indexed(pid) is not None and book.final_block() == chain.dev.block_number() - 2


def test_with_the_finalized_tag_a_payment_waits_for_the_finalized_block(market) -> None:
    chain, model_id = market
    book = PaymentBook(chain.client(SERVER), finality=Finality.finalized_tag())
    pid, _ = pay(chain, model_id)
    with pytest.raises(PaymentRequired, match="not final yet") as waiting:
        book.confirmed(pid)
    assert waiting.value.code == "payment_unconfirmed"
    chain.dev.mine(64)  # Anvil finalizes the block 64 below its head
    assert book.confirmed(pid).payment_id == pid
    assert book.final_block() == int(chain.w3.eth.get_block("finalized")["number"])
    assert book.confirmations == 65


def test_a_reorg_that_gives_the_id_to_another_payer_is_caught_by_recheck(market, target) -> None:
    chain, model_id = market
    book = PaymentBook(chain.client(SERVER), finality=Finality(1), database=target)
    before = chain.dev.snapshot()
    pid, tx_a = pay(chain, model_id, PAYER_A)
    assert book.confirmed(pid).payer == chain.client(PAYER_A).address  # served as final, indexed
    book.index.sync(force=True)
    assert book.recheck(pid, tx_a) is not None  # still there: one block hash compared
    chain.dev.revert(before)  # A's payment is gone; B pays and gets the same id in another transaction
    again, tx_b = pay(chain, model_id, PAYER_B)
    assert again == pid and tx_b != tx_a
    assert book.recheck(pid, tx_a) is None
    assert book.index.indexed(pid).payment.tx_hash == tx_b  # the old row is no longer served
    assert book.confirmed(pid).payer == chain.client(PAYER_B).address
    assert book.recheck(pid, tx_b) == book.confirmed(pid)
    book.index.close()


def test_lookups_notice_a_reorg_of_indexed_blocks_within_the_sync_interval(market) -> None:
    chain, model_id = market
    book = PaymentBook(chain.client(SERVER), index=PaymentIndex(chain.client(SERVER), sync_interval_s=0.2))
    before = chain.dev.snapshot()
    pid, _ = pay(chain, model_id, PAYER_A)
    assert book.confirmed(pid).payer == chain.client(PAYER_A).address
    chain.dev.revert(before)
    assert pay(chain, model_id, PAYER_B)[0] == pid
    time.sleep(0.2)
    assert book.confirmed(pid).payer == chain.client(PAYER_B).address  # the rightful payer, no recheck


def test_a_payment_gone_without_replacement_is_forgotten(market) -> None:
    chain, model_id = market
    book = PaymentBook(chain.client(SERVER), finality=Finality(1))
    before = chain.dev.snapshot()
    pid, tx = pay(chain, model_id)
    book.index.sync(force=True)
    assert book.index.indexed(pid) is not None
    chain.dev.revert(before)
    chain.dev.mine(3)  # the chain moves on without it
    assert book.recheck(pid, tx) is None
    assert book.index.indexed(pid) is None and book.status(pid).payment is None


def test_replicas_syncing_one_database_at_once_agree(market, target) -> None:
    chain, model_id = market
    for n in range(6):
        pay(chain, model_id, (PAYER_A, PAYER_B)[n % 2], 1 + n)
        chain.dev.mine(2)
    # Two replicas, each with its own connection to the chain and to the database, small pieces.
    replicas = [PaymentIndex(counted_client(chain, SERVER, max_log_range=3)[0], Finality(1), target)
                for _ in range(2)]
    errors: list[BaseException] = []

    def run(index: PaymentIndex) -> None:
        try:
            for _ in range(3):
                index.sync(force=True)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == []
        vault = chain.client(0).vault
        expected = [vault.get_payment(pid) for pid in range(1, vault.payment_count() + 1)]
        for index in replicas:
            assert index.count() == len(expected)
            assert [index.indexed(p.payment_id).payment for p in expected] == expected
        assert replicas[0].cursor() == replicas[1].cursor()
    finally:
        for index in replicas:
            index.close()


def test_the_gate_shares_a_book_and_keeps_its_old_arguments(market) -> None:
    chain = market[0]
    client = chain.client(SERVER)
    book = PaymentBook(client, finality=Finality(2))
    assert PaymentGate(client, book=book).book is book
    assert PaymentGate(client, 2, book=book).book is book
    with pytest.raises(ValueError, match="decides finality"):
        PaymentGate(client, 1, book=book)
    assert PaymentGate(client).book.finality == Finality(1)  # the local chain's default
    assert PaymentGate(client, 3).book.confirmations == 3
    with pytest.raises(ValueError, match=">= 1"):
        PaymentBook(client, 0)
    with pytest.raises(ValueError, match="not both"):
        PaymentBook(client, index=book.index, database=":memory:")
