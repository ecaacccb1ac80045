"""Helpers of the rewards tests: paid answers and epochs driven through the EpochService."""

from __future__ import annotations

from paidmodel import WORKER

from worker.rewards import EpochReport, EpochService, load_report

EPOCH = 600
TEXTS = ("good great happy", "awful sad grim", "love nice fine", "hate terrible poor")


def answer(serving, count: int = len(TEXTS)) -> int:
    """`count` paid answers on one payment of 4 units; returns the payment id."""
    user = serving.user()
    payment = user.pay(serving.live.model_id, len(TEXTS)).created_id
    for index, text in enumerate(TEXTS[:count]):
        user.predict(serving.live.model_id, text, payment, index)
    return payment


def service_for(serving, store=None) -> EpochService:
    live = serving.live
    return EpochService(live.client(WORKER), store or live.store, serving.receipts, epoch_seconds=EPOCH)


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
