"""Bad input and faults: unknown or not-live models, malformed and oversized requests, unconfirmed
payments, a server restart. Each gets a clear error and costs the payer nothing."""

from __future__ import annotations

import pytest
from paidmodel import MODEL_OWNER, PRICE, start_serving, stop_serving

from worker.serve import InferenceFailed, ServeConfig


def _error(response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def test_unknown_and_not_live_models(serving) -> None:
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    status, code, message = _error(user.send("/v1/models/99/predict", 99, b'{"text":"x"}', payment, 0))
    assert (status, code) == (404, "model_not_found") and "model 99 does not exist" in message
    owner = live.client(MODEL_OWNER)
    model = owner.models.get_model(live.model_id)
    pending = owner.models.register_model(model.datanet_id, model.version_id, "minilm", "bafyspec", PRICE)
    path = f"/v1/models/{pending.created_id}/predict"
    status, code, message = _error(user.send(path, pending.created_id, b'{"text":"x"}', payment, 0))
    assert (status, code) == (409, "model_not_live") and "not live yet" in message
    assert user.predict(live.model_id, "good", payment, 0)  # the unit was not spent by the failures


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 422, "invalid_request"),
        (b'{"prompt": "hello"}', 422, "invalid_request"),
        (b'{"text": ""}', 422, "invalid_request"),
        (b'{"text": "' + b"a" * 4001 + b'"}', 413, "request_too_large"),
        (b'{"text": "' + b"a" * 70_000 + b'"}', 413, "request_too_large"),
    ],
)
def test_malformed_or_oversized_requests_spend_nothing(serving, body, status, code) -> None:
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    response = user.send(f"/v1/models/{live.model_id}/predict", live.model_id, body, payment, 0)
    assert _error(response)[:2] == (status, code)
    assert serving.receipts.count() == 0
    assert user.predict(live.model_id, "good", payment, 0).receipt.request_index == 0


def test_classifier_on_the_completions_endpoint(serving) -> None:
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    with pytest.raises(InferenceFailed, match="is a classifier: use POST") as caught:
        user.complete(live.model_id, "hello", payment, 0)
    assert caught.value.status == 422 and serving.receipts.count() == 0


def test_unconfirmed_payments_wait_for_depth(live, tmp_path) -> None:
    running = start_serving(live, tmp_path, ServeConfig(confirmations=3))
    try:
        user = running.user()
        payment = user.pay(live.model_id, 1).created_id
        with pytest.raises(InferenceFailed, match="has 1 of the 3 confirmations") as caught:
            user.predict(live.model_id, "good", payment, 0)
        assert caught.value.code == "payment_unconfirmed"
        live.chain.dev.mine(2)
        assert user.predict(live.model_id, "good", payment, 0).receipt.payment_id == payment
    finally:
        stop_serving(running)


def test_a_restarted_server_keeps_every_receipt_and_spends_nothing_twice(live, tmp_path) -> None:
    first = start_serving(live, tmp_path)
    user = first.user()
    payment = user.pay(live.model_id, 3).created_id
    receipt = user.predict(live.model_id, "good great", payment, 0).receipt
    stop_serving(first)  # the process dies; its receipt log is all that remains

    second = start_serving(live, tmp_path)
    try:
        user = second.user()
        with pytest.raises(InferenceFailed) as caught:
            user.predict(live.model_id, "good great", payment, 0)
        assert caught.value.code == "payment_replayed"
        assert user.http.get(f"/v1/receipts/{payment}/0").json() == receipt.to_dict()
        assert user.payment(payment)["nextIndex"] == 1
        user.predict(live.model_id, "sad", payment, 1)
        assert second.receipts.count() == 2 and [
            r.request_index for r in second.receipts.pending(live.model_id)
        ] == [0, 1]
    finally:
        stop_serving(second)


def test_lookups_of_unknown_payments_and_receipts(serving) -> None:
    user = serving.user()
    assert _error(user.http.get("/v1/payments/999"))[:2] == (404, "payment_unknown")
    assert _error(user.http.get("/v1/receipts/1/0"))[:2] == (404, "receipt_not_found")
    assert _error(user.http.get("/v1/models/abc/predict"))[0] == 405
    not_an_id = user.http.post("/v1/models/abc/predict", json={"text": "x"})
    assert _error(not_an_id)[:2] == (422, "invalid_request")
