"""Helpers of the rewards tests: paid answers and epochs driven through the EpochService."""

from __future__ import annotations

from paidmodel import WORKER

from worker.billing import UNIT_TTL
from worker.rewards import EpochReport, EpochService, build_report, load_report, read_ledger

EPOCH = 600
TEXTS = ("good great happy", "awful sad grim", "love nice fine", "hate terrible poor")


def answer(serving, count: int = len(TEXTS)) -> int:
    """`count` paid answers on one payment of 4 units; returns the payment id."""
    user = serving.user()
    payment = user.pay(serving.live.model_id, len(TEXTS)).created_id
    for index, text in enumerate(TEXTS[:count]):
        user.predict(serving.live.model_id, text, payment, index)
    return payment


def service_for(serving, store=None, unit_ttl: int = UNIT_TTL) -> EpochService:
    live = serving.live
    return EpochService(
        live.client(WORKER), store or live.store, serving.receipts, epoch_seconds=EPOCH, unit_ttl=unit_ttl
    )


def hand_report(live, receipts, epoch: int, model_id: int | None = None, block: int | None = None):
    """The report the worker would build for exactly these receipts, residue read at `block` (the head
    by default), with no manifest check: what a test posts by hand."""
    worker, model_id = live.client(WORKER), model_id or live.model_id
    payments = {r.payment_id: worker.vault.get_payment(r.payment_id) for r in receipts}
    ledger = read_ledger(worker, live.store, model_id, block or live.chain.w3.eth.block_number, UNIT_TTL)
    chain_id, vault = live.chain.w3.eth.chain_id, worker.vault.address
    return build_report(chain_id, vault, model_id, epoch, worker.address, receipts, payments, None, ledger)


def posted_epoch(serving) -> EpochReport:
    """Answers, then the epoch closed and posted (still in its challenge window)."""
    live, service = serving.live, service_for(serving)
    answer(serving)
    service.tick()
    live.chain.dev.increase_time(EPOCH)
    events = service.tick()
    assert [e.action for e in events] == ["closed", "posted"], events
    return load_report(live.store, live.client(0).vault.report_cid(live.model_id, events[0].epoch))


def finalized_epoch(serving) -> EpochReport:
    report = posted_epoch(serving)
    live = serving.live
    live.chain.dev.increase_time(live.client(0).vault.challenge_window() + 1)
    assert [e.action for e in service_for(serving).tick()] == ["finalized"]
    return report
