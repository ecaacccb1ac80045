"""Nothing stays stranded (rewards/residue.py): paid units expire, and each epoch pays the pool's residue
(value no unit is owed any more: floors, units that expired unused, swept unclaimed amounts) to its own
contributors pro rata; `serve` refuses an expired unit and `verify epoch` recomputes the residue."""

from __future__ import annotations

import dataclasses
import json

import pytest
from epoch_helpers import EPOCH, TEXTS, answer, finalized_epoch, hand_report, service_for
from paidmodel import WORKER, start_serving, stop_serving

from worker.rewards import EpochReport, EpochService, load_report, verify_epoch
from worker.rewards.epoch_report import PaymentTerms
from worker.serve import InferenceFailed, ServeConfig

TTL = 3 * EPOCH  # a shortened unit TTL: the protocol's is 30 days


def _next_posted(live, service: EpochService) -> EpochReport:
    """One epoch window later: the report of the epoch the service closes and posts."""
    live.chain.dev.increase_time(EPOCH)
    events = service.tick()
    posted = [e for e in events if e.action == "posted"]
    assert posted, events
    return load_report(live.store, live.client(0).vault.report_cid(live.model_id, posted[-1].epoch))


def _assert_pro_rata(report: EpochReport) -> None:
    residue = report.residue
    for account, share in residue.shares.items():
        own = report.amounts[account] - share
        assert share == residue.residue_in * own // report.receipts_total
    assert report.total == report.receipts_total + residue.paid
    assert 0 <= residue.residue_in - residue.paid < len(report.amounts)  # only the floors stay


def test_units_that_expire_unused_are_paid_to_the_next_epochs_contributors(serving) -> None:
    live, vault = serving.live, serving.live.client(0).vault
    service = service_for(serving, unit_ttl=TTL)
    user = serving.user()
    first = user.pay(live.model_id, 5).created_id
    for index, text in enumerate(TEXTS[:2]):
        user.predict(live.model_id, text, first, index)
    service.tick()  # opens the window
    unit = PaymentTerms.of(vault.get_payment(first)).unit_value

    zero = _next_posted(live, service)
    assert zero.residue.unit_ttl == TTL and zero.residue.outstanding == 3 * unit  # still owed
    assert zero.residue.residue_in < unit  # the floors of its own receipts only

    live.chain.dev.increase_time(TTL)  # the 3 unused units of the first payment expire
    answer(serving)  # a new payment of 4 units, all used
    one = _next_posted(live, service)
    assert one.epoch == 1 and one.residue.outstanding == 0
    assert one.residue.residue_in >= 3 * unit and one.residue.paid > 3 * unit - len(one.amounts)
    _assert_pro_rata(one)
    assert vault.get_epoch(live.model_id, 1).total == one.total
    assert vault.pool(live.model_id).available == one.residue.residue_in - one.residue.paid
    accounting = json.loads(one.to_bytes())["accounting"]
    assert int(accounting["residuePaid"]) == one.residue.paid and accounting["unitTtl"] == TTL
    assert int(accounting["outstandingUnitsValue"]) == 0 and int(accounting["residueIn"]) > 0
    for epoch in (0, 1):
        assert verify_epoch(live.client(0), live.store, live.model_id, epoch, unit_ttl=TTL).ok


def test_an_expired_unit_is_refused_with_payment_expired(live, tmp_path) -> None:
    running = start_serving(live, tmp_path, ServeConfig(unit_ttl=TTL))
    try:
        user = running.user()
        payment = user.pay(live.model_id, 2).created_id
        user.predict(live.model_id, TEXTS[0], payment, 0)
        live.chain.dev.increase_time(TTL)
        with pytest.raises(InferenceFailed) as refused:
            user.predict(live.model_id, TEXTS[1], payment, 1)
        assert (refused.value.status, refused.value.code) == (402, "payment_expired")
        assert f"payment {payment} expired at chain time" in str(refused.value)
        assert running.receipts.count(live.model_id) == 1  # the expired unit was never spent
    finally:
        stop_serving(running)


def test_an_unclaimed_amount_swept_back_is_paid_by_the_next_epoch(serving) -> None:
    live, vault = serving.live, serving.live.client(0).vault
    first = finalized_epoch(serving)  # nobody claims it
    live.chain.dev.increase_time(vault.claim_period() + 1)
    vault.sweep_epoch(live.model_id, 0)
    assert vault.pool(live.model_id).available >= first.total

    answer(serving)
    second = _next_posted(live, service_for(serving))
    assert second.epoch == 1 and second.residue.residue_in >= first.total
    assert second.residue.paid > first.total - len(second.amounts)
    _assert_pro_rata(second)
    assert vault.pool(live.model_id).available < len(second.amounts)  # all but the floors paid out
    assert verify_epoch(live.client(0), live.store, live.model_id, 1).ok


def test_verify_flags_a_poster_that_keeps_the_residue(serving) -> None:
    live, worker = serving.live, serving.live.client(WORKER)
    answer(serving, 2)  # 2 of 4 units used
    live.chain.dev.increase_time(30 * 24 * 3600)  # the other 2 expire: their value is residue
    honest = hand_report(live, serving.receipts.pending(live.model_id), 0)
    assert honest.residue.paid > 0
    kept = {worker.address: honest.residue.paid}  # the poster pays the residue to itself
    receipts_amounts = {a: v - honest.residue.shares.get(a, 0) for a, v in honest.amounts.items()}
    amounts = {**receipts_amounts, **kept}
    forged = dataclasses.replace(
        honest,
        amounts={a: amounts[a] for a in sorted(amounts)},
        residue=dataclasses.replace(honest.residue, shares=kept),
    )
    assert forged.total == honest.total  # the vault alone cannot tell
    cid = live.store.add(forged.to_bytes())
    worker.vault.post_epoch_root(live.model_id, 0, forged.root, forged.total, cid)

    result = verify_epoch(live.client(0), live.store, live.model_id, 0)
    assert not result.ok and result.total == honest.total and result.root == "0x" + honest.root.hex()
    assert any("residue split differs" in p for p in result.problems), result.problems
