"""A reorg after serving, as an attacker or bad luck makes one: payer A's payment is answered, then leaves
the chain (evm_revert), and payer B's payment takes the same id in another transaction.

What must hold: B, the rightful payer of that id now, is served (not refused as a replay); A cannot spend
it; the receipt answered for A's vanished payment is excluded with its reason, never paid out; and every
root posted is one `verify` accepts."""

from __future__ import annotations

import time

import pytest
from epoch_helpers import EPOCH, service_for
from paidmodel import STRANGER, USER

from worker.rewards.verify import verify_epoch
from worker.serve.client import InferenceFailed


def _reorged_payment(serving) -> tuple[int, object]:
    """A pays 2 units and is answered once; the payment leaves the chain; B pays under the same id."""
    live = serving.live
    before = live.chain.dev.snapshot()
    a = serving.user(USER)
    payment = int(a.pay(live.model_id, 2).created_id or 0)
    a.predict(live.model_id, "good great", payment, 0)
    assert serving.receipts.used_indexes(payment) == [0]
    live.chain.dev.revert(before)
    b = serving.user(STRANGER)
    assert int(b.pay(live.model_id, 2).created_id or 0) == payment  # the id is B's now
    time.sleep(0.6)  # the payment index re-syncs at most every 0.5 s: it sees the replaced block
    return payment, b


def test_the_rightful_payer_is_served_after_a_reorg_and_the_vanished_answer_is_excluded(serving) -> None:
    live = serving.live
    payment, b = _reorged_payment(serving)
    answer = b.predict(live.model_id, "awful sad", payment, 0)  # the unit A's receipt held is B's
    assert answer.receipt.request_index == 0
    [excluded] = serving.receipts.excluded(live.model_id)
    assert excluded.receipt.payment_id == payment and "left the chain in a reorg" in excluded.reason
    with pytest.raises(InferenceFailed) as stranger:
        serving.user(USER).predict(live.model_id, "good", payment, 1)  # A's payment is gone
    assert (stranger.value.status, stranger.value.code) == (402, "payment_not_yours")

    service = service_for(serving)
    service.tick()
    live.chain.dev.increase_time(EPOCH)
    assert [e.action for e in service.tick()] == ["closed", "posted"]
    verdict = verify_epoch(live.client(0), live.store, live.model_id, 0)
    assert verdict.ok and verdict.receipts == 1, verdict.problems


def test_an_epoch_never_pays_a_receipt_whose_payment_vanished(serving) -> None:
    live = serving.live
    payment, b = _reorged_payment(serving)  # B does not use the id: A's receipt is still pending
    other = int(b.pay(live.model_id, 1).created_id or 0)
    b.predict(live.model_id, "nice", other, 0)
    service = service_for(serving)
    service.tick()
    live.chain.dev.increase_time(EPOCH)
    events = service.tick()
    assert [e.action for e in events] == ["excluded", "closed", "posted"], events
    assert f"payment {payment} " in events[0].detail and "1 receipt(s)" in events[0].detail
    assert [r.payment_id for r in serving.receipts.epoch_receipts(live.model_id, 0)] == [other]
    assert [e.receipt.payment_id for e in serving.receipts.excluded(live.model_id)] == [payment]
    verdict = verify_epoch(live.client(0), live.store, live.model_id, 0)
    assert verdict.ok and verdict.receipts == 1, verdict.problems
    b.predict(live.model_id, "fine", payment, 0)  # and the unit is B's to spend
