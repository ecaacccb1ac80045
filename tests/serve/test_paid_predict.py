"""Paid predictions end to end on a real Anvil and a real server on loopback: pay, authorize, answer, and a
receipt anyone can verify (and that fails verification once tampered with)."""

from __future__ import annotations

import threading
import time

import pytest
from paidmodel import CONTRIBUTORS, MODEL_OWNER, PRICE, STRANGER, WORKER, second_live_model

from worker.billing import Receipt, ReceiptError, receipt_domain
from worker.billing.authorization import sign_request
from worker.chain.reverts import TransactionReverted
from worker.serve import InferenceClient, InferenceFailed


def _domain(live, chain_id: int | None = None) -> dict:
    return receipt_domain(chain_id or live.chain.w3.eth.chain_id, live.client(0).vault.address)


def test_paid_prediction_returns_a_verified_receipt(serving) -> None:
    live, user = serving.live, serving.user()
    paid = user.pay(live.model_id, 3)
    answer = user.predict(live.model_id, "good great happy love", paid.created_id, 0)
    assert answer.output["label"] in ("neg", "pos")
    assert abs(sum(answer.output["probabilities"].values()) - 1) < 1e-4
    receipt = answer.receipt
    assert receipt.signer == live.client(WORKER).address
    assert receipt.adapter_cid == live.adapter_cid and receipt.payment_id == paid.created_id
    assert receipt.basis == "answer" and sum(receipt.weights_ppm) == 1_000_000
    assert set(receipt.contributors) <= set(live.contributor_addresses)
    top = receipt.evidence["top"]
    assert len(top) == 10 and {row["contributor"] for row in top} <= set(live.contributor_addresses)
    assert serving.receipts.count(live.model_id) == 1
    stored = serving.receipts.find(paid.created_id, 0)
    assert stored == receipt  # what the user got is what the epoch will pay
    Receipt.from_dict(receipt.to_dict()).verify(_domain(live), expected_signer=live.client(WORKER).address)
    assert live.client(0).vault.pool(live.model_id).available == 3 * PRICE // 2


def test_a_price_raised_before_the_payment_makes_it_revert_not_charge_more(serving) -> None:
    live, user = serving.live, serving.user()
    seen = live.client(0).models.get_model(live.model_id).price_per_inference
    live.client(MODEL_OWNER).models.set_price(live.model_id, 2 * seen)  # in front of the payment
    with pytest.raises(TransactionReverted) as raised:
        user.pay(live.model_id, 1, max_price=seen)
    assert raised.value.error_name == "PriceAboveMaximum" and raised.value.args["price"] == 2 * seen
    assert user.pay(live.model_id, 1).event("InferencePaid")["amount"] == 2 * seen  # default: price now


@pytest.mark.parametrize(
    "change",
    [
        {"weightsPpm": "shift"},
        {"contributors": "swap"},
        {"outputHash": "0x" + "00" * 32},
        {"paymentId": 99},
        {"evidence": {"top": []}},
    ],
)
def test_a_tampered_receipt_fails_verification(serving, change) -> None:
    live, user = serving.live, serving.user()
    receipt = user.predict(live.model_id, "awful sad grim", user.pay(live.model_id, 1).created_id, 0).receipt
    data = receipt.to_dict()
    key, value = next(iter(change.items()))
    if value == "shift":
        weights = list(data["weightsPpm"]) + [0]
        data["weightsPpm"] = [weights[0] - 1, *weights[1:-1]] if len(weights) > 2 else [weights[0] - 1]
    elif value == "swap":
        data["contributors"] = [live.client(STRANGER).address, *data["contributors"][1:]]
    else:
        data[key] = value
    with pytest.raises(ReceiptError):
        Receipt.from_dict(data).verify(_domain(live))


def test_a_receipt_does_not_verify_under_another_chain_or_signer(serving) -> None:
    live, user = serving.live, serving.user()
    receipt = user.predict(live.model_id, "nice fine", user.pay(live.model_id, 1).created_id, 0).receipt
    with pytest.raises(ReceiptError, match="altered or signed under another chain"):
        receipt.verify(_domain(live, chain_id=1))
    with pytest.raises(ReceiptError, match="not by the model's compute provider"):
        receipt.verify(_domain(live), expected_signer=live.client(STRANGER).address)


def _refused(call, code: str, status: int = 402) -> str:
    with pytest.raises(InferenceFailed) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code), str(caught.value)
    return str(caught.value)


def test_each_paid_unit_is_answered_once(serving) -> None:
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 2).created_id
    user.predict(live.model_id, "good", payment, 0)
    message = _refused(lambda: user.predict(live.model_id, "good", payment, 0), "payment_replayed")
    assert f"request index 0 of payment {payment} was already answered" in message
    user.predict(live.model_id, "bad", payment, 1)
    message = _refused(lambda: user.predict(live.model_id, "bad", payment, 2), "payment_exhausted")
    assert "covers 2 request(s)" in message
    assert serving.receipts.count() == 2
    assert user.payment(payment)["used"] == [0, 1] and user.payment(payment)["nextIndex"] is None


def test_a_replayed_signed_request_is_refused(serving) -> None:
    """The exact same bytes and headers sent twice (e.g. captured on the wire): one answer only."""
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    first = user.send(f"/v1/models/{live.model_id}/predict", live.model_id, b'{"text":"happy"}', payment, 0)
    again = user.send(f"/v1/models/{live.model_id}/predict", live.model_id, b'{"text":"happy"}', payment, 0)
    assert first.status_code == 200 and again.status_code == 402
    assert again.json()["error"]["code"] == "payment_replayed"


def test_someone_elses_payment_cannot_be_spent(serving) -> None:
    live, user, stranger = serving.live, serving.user(), serving.user(STRANGER)
    payment = user.pay(live.model_id, 2).created_id
    message = _refused(lambda: stranger.predict(live.model_id, "good", payment, 0), "payment_not_yours")
    assert f"was made by {live.client(9).address}" in message
    # a valid signature over one body does not authorize another body
    path = f"/v1/models/{live.model_id}/predict"
    headers = sign_request(
        user.client.signer, user.request_domain, live.model_id, payment, 0, b'{"text":"a"}'
    )
    response = user.http.post(path, content=b'{"text":"b"}', headers=headers)
    assert response.status_code == 402 and response.json()["error"]["code"] == "payment_not_yours"
    assert serving.receipts.count() == 0


def test_unknown_missing_and_malformed_payments(serving) -> None:
    live, user = serving.live, serving.user()
    _refused(lambda: user.predict(live.model_id, "good", 999, 0), "payment_unknown")
    bare = user.http.post(f"/v1/models/{live.model_id}/predict", json={"text": "good"})
    assert bare.status_code == 402 and bare.json()["error"]["code"] == "payment_missing"
    assert "payForInference" in bare.json()["error"]["message"]
    broken = user.http.post(
        f"/v1/models/{live.model_id}/predict",
        json={"text": "good"},
        headers={
            "X-OpenLedger-Payment": "1",
            "X-OpenLedger-Request-Index": "0",
            "X-OpenLedger-Signature": "0x12",
        },
    )
    assert broken.status_code == 402 and broken.json()["error"]["code"] == "payment_malformed"


def test_a_payment_for_another_model_is_refused(serving) -> None:
    live, user = serving.live, serving.user()
    other = second_live_model(live)
    payment = user.pay(other, 1).created_id
    message = _refused(lambda: user.predict(live.model_id, "good", payment, 0), "payment_wrong_model")
    assert f"paid for model {other}, not model {live.model_id}" in message
    assert user.predict(other, "good", payment, 0).receipt.model_id == other


def test_concurrent_requests_for_one_unit_get_one_answer(serving) -> None:
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    path = f"/v1/models/{live.model_id}/predict"
    codes: list[int] = []

    def send() -> None:
        codes.append(user.send(path, live.model_id, b'{"text":"love"}', payment, 0).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 402, 402, 402] and serving.receipts.count() == 1


def test_copies_of_one_signed_request_run_the_model_once(serving) -> None:
    """Twelve copies of one signed unit at once: one inference, one answer; the others are told the unit
    is in flight (or already answered) without the model running for them."""
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    path = f"/v1/models/{live.model_id}/predict"
    served = serving.service.catalog.get(live.model_id)
    real, runs = served.classify, []

    def slow_classify(text: str):
        runs.append(text)
        time.sleep(0.3)  # keep the unit in flight while the copies arrive
        return real(text)

    served.classify = slow_classify  # type: ignore[method-assign]
    responses: list[tuple[int, str]] = []

    def send() -> None:
        response = user.send(path, live.model_id, b'{"text":"love"}', payment, 0)
        responses.append((response.status_code, response.json().get("error", {}).get("code", "")))

    threads = [threading.Thread(target=send) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(runs) == 1 and serving.receipts.count() == 1
    assert sorted(responses)[0] == (200, "") and [s for s, _ in responses].count(200) == 1
    assert {code for status, code in responses if status != 200} <= {"payment_in_flight", "payment_replayed"}
    assert "payment_in_flight" in {code for _, code in responses}


def test_a_failed_answer_releases_its_unit(serving) -> None:
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    served = serving.service.catalog.get(live.model_id)
    real = served.classify

    def broken(text: str):
        raise RuntimeError("the model crashed")

    served.classify = broken  # type: ignore[method-assign]
    failed = user.send(f"/v1/models/{live.model_id}/predict", live.model_id, b'{"text":"x"}', payment, 0)
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "internal_error"
    served.classify = real  # type: ignore[method-assign]
    assert user.predict(live.model_id, "love", payment, 0).receipt.request_index == 0  # not in flight forever


def test_a_lost_answer_can_be_fetched_again_by_its_payer_only(serving) -> None:
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    first = user.predict(live.model_id, "what a lovely flight", payment, 0)
    again = user.recover(live.model_id, payment, 0, b'{"text":"what a lovely flight"}')
    assert again.output == first.output and again.receipt == first.receipt
    assert user.recover(live.model_id, payment, 0).output == first.output  # body lost too
    public = user.http.get(f"/v1/receipts/{payment}/0").json()
    assert public == first.receipt.to_dict() and "output" not in public  # the answer is the payer's
    stranger = InferenceClient(live.client(STRANGER), serving.server.url)
    with pytest.raises(InferenceFailed) as refused:
        stranger.recover(live.model_id, payment, 0)
    assert (refused.value.status, refused.value.code) == (402, "payment_not_yours")


def test_models_lists_live_models_with_prices(serving) -> None:
    listed = serving.user().models()
    assert [m["id"] for m in listed] == [str(serving.live.model_id)]
    assert listed[0]["price_per_inference"] == str(PRICE) and listed[0]["served_here"] is True
    assert listed[0]["task"] == "classification"  # read from the model's training spec, as trained
    assert len(CONTRIBUTORS) == 3
