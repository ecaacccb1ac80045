"""An epoch root locks collateral from the worker's free stake: the EpochService posts only what its free
stake backs (the oldest receipts first), waits with a clear note when it backs nothing, and reopens a
closed epoch the stake no longer covers. Never a transaction that reverts."""

from __future__ import annotations

from epoch_helpers import EPOCH, answer, service_for
from paidmodel import MODEL_OWNER, OPEN, WORKER

from worker.chain.types import BPS
from worker.rewards import load_report


def leave_free_stake(live, free: int) -> int:
    """The worker claims a training job whose collateral leaves it about `free` stake; what is left."""
    worker, owner = live.client(WORKER), live.client(MODEL_OWNER)
    current = worker.workers.free_stake(worker.address)
    bounty = (current - free) * BPS // worker.models.params().collateral_bps
    worker.models.claim_job(owner.models.request_training(live.model_id, bounty).created_id)
    return worker.workers.free_stake(worker.address)


def test_free_stake_for_two_of_four_receipts_posts_those_two_then_the_rest_once_staked(serving) -> None:
    live, worker = serving.live, serving.live.client(WORKER)
    answer(serving)  # 4 receipts of about 1 OPEN each: 1.5 OPEN of collateral per receipt
    free = leave_free_stake(live, 32 * OPEN // 10)
    service = service_for(serving)
    service.tick()
    live.chain.dev.increase_time(EPOCH)
    closed, posted = service.tick()
    assert (closed.action, posted.action) == ("closed", "posted")
    assert closed.detail.startswith("2 receipt(s)") and "backs only 2 of 4 pending" in closed.detail
    report = load_report(live.store, worker.vault.report_cid(live.model_id, 0))
    assert worker.vault.collateral_for(report.total) <= free
    assert worker.workers.locked_stake(worker.address) >= worker.vault.collateral_for(report.total)
    assert len(serving.receipts.pending(live.model_id)) == 2

    live.chain.dev.increase_time(EPOCH)
    block = live.chain.w3.eth.block_number
    [waiting] = service.tick()  # epoch 0 still locks its collateral: nothing else fits
    assert waiting.action == "waiting" and "backs only 0 of 2" in waiting.detail
    assert live.chain.w3.eth.block_number == block  # nothing was sent

    worker.workers.add_stake(10 * OPEN)
    live.chain.dev.increase_time(EPOCH)
    events = service.tick()
    assert [(e.epoch, e.action) for e in events] == [(1, "closed"), (1, "posted")]
    assert events[0].detail.startswith("2 receipt(s)") and serving.receipts.pending(live.model_id) == []


def test_a_closed_epoch_the_stake_no_longer_covers_is_reopened(serving) -> None:
    live, worker = serving.live, serving.live.client(WORKER)
    answer(serving)
    pending = serving.receipts.pending(live.model_id)
    head = live.chain.w3.eth.block_number
    serving.receipts.close_epoch(live.model_id, 0, worker.latest_timestamp(), pending, head)
    leave_free_stake(live, OPEN // 2)  # e.g. another job claimed before the post went out
    block = live.chain.w3.eth.block_number
    [event] = service_for(serving).tick()
    assert event.action == "waiting" and "reopened (4 receipt(s) pending again)" in event.detail
    assert "only 0.5 OPEN is free" in event.detail
    assert live.chain.w3.eth.block_number == block
    assert serving.receipts.epochs(live.model_id) == [] and len(serving.receipts.pending(live.model_id)) == 4


def test_an_inactive_worker_posts_nothing(serving) -> None:
    live, worker = serving.live, serving.live.client(WORKER)
    answer(serving)
    worker.workers.request_exit()
    service = service_for(serving)
    live.chain.dev.increase_time(EPOCH)
    [event] = service.tick()
    assert event.action == "waiting" and "not active" in event.detail
    assert serving.receipts.epochs(live.model_id) == []
