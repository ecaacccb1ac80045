"""EpochService on a real Anvil: receipts of paid answers become a posted, finalized epoch root that
contributors claim; every tick is idempotent and a kill -9 anywhere neither loses nor doubles anything."""

from __future__ import annotations

import pytest
from epoch_helpers import EPOCH, answer, hand_report, service_for
from paidmodel import CONTRIBUTORS, PRICE, WORKER

from worker.chain.types import EpochStatus
from worker.merkle import ClaimTree
from worker.rewards import EpochService, claim, load_report, verify_epoch
from worker.rewards.aggregation import epoch_amounts
from worker.rewards.epoch_report import PaymentTerms
from worker.storage import LocalStore


def actions(events) -> list[tuple[int, str]]:
    return [(e.epoch, e.action) for e in events]


def test_receipts_become_a_finalized_epoch_that_contributors_claim(serving) -> None:
    live, vault = serving.live, serving.live.client(0).vault
    service = service_for(serving)
    assert service.tick() == []  # no receipts: no model to watch yet
    answer(serving)
    assert service.tick() == []  # opens the model's first window
    live.chain.dev.increase_time(EPOCH)
    events = service.tick()
    assert actions(events) == [(0, "closed"), (0, "posted")]
    posted = vault.get_epoch(live.model_id, 0)
    assert posted.status == EpochStatus.POSTED and events[1].tx is not None
    report = load_report(live.store, vault.report_cid(live.model_id, 0))
    assert len(report.receipts) == 4 and posted.root == report.root and posted.total == report.total
    unit = (4 * PRICE - 4 * PRICE // 10 - 2 * (4 * PRICE * 2_000 // 10_000)) // 4
    assert report.total <= 4 * unit and report.total > 4 * unit - 100
    assert set(report.amounts) <= set(live.contributor_addresses)

    assert service.tick() == []  # idempotent: nothing more to do inside the window
    live.chain.dev.increase_time(vault.challenge_window() + 1)
    assert actions(service.tick()) == [(0, "finalized")]
    assert vault.get_epoch(live.model_id, 0).status == EpochStatus.FINALIZED

    for index in CONTRIBUTORS:
        client = live.client(index)
        amount = report.amounts.get(client.address)
        if amount:
            before = client.token.balance_of(client.address)
            claim(client, live.store, live.model_id, 0)
            assert client.token.balance_of(client.address) - before == amount
    assert verify_epoch(live.client(0), live.store, live.model_id, 0).ok


def test_answers_after_a_close_go_to_the_next_epoch(serving) -> None:
    live = serving.live
    service = EpochService(live.client(WORKER), live.store, serving.receipts, EPOCH, models=[live.model_id])
    assert service.tick() == []  # a watched model's first window opens at once
    answer(serving, 2)
    live.chain.dev.increase_time(EPOCH)
    service.tick()
    answer(serving, 3)
    assert service.tick() == []  # the new window has just started
    live.chain.dev.increase_time(EPOCH)
    assert actions(service.tick()) == [(1, "closed"), (1, "posted")]
    first = load_report(live.store, live.client(0).vault.report_cid(live.model_id, 0))
    second = load_report(live.store, live.client(0).vault.report_cid(live.model_id, 1))
    keys = [(r.payment_id, r.request_index) for r in first.receipts + second.receipts]
    assert len(keys) == len(set(keys)) == 5
    assert verify_epoch(live.client(0), live.store, live.model_id, 1).ok


class DeadStore(LocalStore):
    """The process is killed when the report is about to be uploaded."""

    def add(self, source, *, pin: bool = True) -> str:  # noqa: ARG002
        raise KeyboardInterrupt("kill -9")


def test_killed_after_closing_the_epoch_posts_the_same_root_on_restart(serving, tmp_path) -> None:
    live = serving.live
    answer(serving)
    service_for(serving).tick()
    live.chain.dev.increase_time(EPOCH)
    with pytest.raises(KeyboardInterrupt):
        service_for(serving, DeadStore(live.store.root)).tick()
    closed = serving.receipts.epochs(live.model_id)
    assert [(e.epoch, e.state, e.receipts) for e in closed] == [(0, "closed", 4)]
    assert live.client(0).vault.next_epoch(live.model_id) == 0  # nothing was posted

    events = service_for(serving).tick()  # the restarted worker
    assert actions(events) == [(0, "posted")]
    block = serving.receipts.epochs(live.model_id)[0].manifest_block
    expected = hand_report(live, serving.receipts.epoch_receipts(live.model_id, 0), 0, block=block)
    assert live.client(0).vault.get_epoch(live.model_id, 0).root == expected.root
    assert serving.receipts.pending(live.model_id) == []


def test_killed_after_posting_records_the_post_without_sending_again(serving) -> None:
    live, worker = serving.live, serving.live.client(WORKER)
    answer(serving)
    live.chain.dev.increase_time(EPOCH)
    pending, head = serving.receipts.pending(live.model_id), live.chain.w3.eth.block_number
    serving.receipts.close_epoch(live.model_id, 0, worker.latest_timestamp(), pending, head)
    # the post went out, then the process died before recording it
    report = hand_report(live, pending, 0, block=head)
    cid = live.store.add(report.to_bytes())
    worker.vault.post_epoch_root(live.model_id, 0, report.root, report.total, cid)
    block = live.chain.w3.eth.block_number

    events = service_for(serving).tick()
    assert (
        actions(events) == [(0, "posted")] and events[0].tx is None and "already on-chain" in events[0].detail
    )
    assert live.chain.w3.eth.block_number == block  # no transaction sent
    assert serving.receipts.epochs(live.model_id)[0].report_cid == cid


def test_a_conflicting_root_on_chain_is_never_overwritten(serving) -> None:
    live, worker = serving.live, serving.live.client(WORKER)
    payment = answer(serving)
    pending = serving.receipts.pending(live.model_id)
    serving.receipts.close_epoch(live.model_id, 0, worker.latest_timestamp(), pending)
    unit = PaymentTerms.of(worker.vault.get_payment(payment)).unit_value
    forged = epoch_amounts(pending[:1], {payment: unit})  # someone posted from another receipt log
    worker.vault.post_epoch_root(
        live.model_id, 0, ClaimTree.of(list(forged.items())).root, sum(forged.values()), "x"
    )
    events = service_for(serving).tick()  # reported as the model's error, never a second post
    assert actions(events) == [(-1, "error")] and "posted from another receipt log" in events[0].detail
    assert "RewardsError" in events[0].detail
    assert serving.receipts.epochs(live.model_id)[0].state == "closed"


def test_only_the_compute_provider_posts(serving) -> None:
    live = serving.live
    answer(serving, 1)
    stranger = EpochService(live.client(CONTRIBUTORS[0]), live.store, serving.receipts, epoch_seconds=EPOCH)
    events = stranger.tick()
    assert [e.action for e in events] == ["skipped"] and "compute provider" in events[0].detail
