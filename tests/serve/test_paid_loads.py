"""Only paid requests load a model: with `--max-adapters 1` and two served models, unpaid, badly signed,
misdirected or replayed requests cycling between them are refused (402) from the cached chain view and
the payment checks, never by a load (which is slow and serialized: a flood of them would stall every
paying user). A load that fails costs the payer nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from paidmodel import STRANGER, LiveModel, Serving, second_live_model, start_serving, stop_serving

from worker.billing.authorization import sign_request
from worker.serve import ServeConfig
from worker.serve import catalog as catalog_module
from worker.serve.errors import ModelUnavailable

BODY = b'{"text":"good great happy"}'


@pytest.fixture
def two_models(live: LiveModel, tmp_path, monkeypatch) -> Iterator[tuple[Serving, int, list[int]]]:
    """A server for `live` and a second live model with room for one loaded adapter, and the ids of
    every model `load_served_model` is called for (the real loader still runs)."""
    second = second_live_model(live)
    loads: list[int] = []
    real = catalog_module.load_served_model

    def counted(client: Any, store: Any, model_id: int, *args: Any) -> Any:
        loads.append(model_id)
        return real(client, store, model_id, *args)

    monkeypatch.setattr(catalog_module, "load_served_model", counted)
    running = start_serving(live, tmp_path, ServeConfig(max_adapters=1))
    try:
        yield running, second, loads
    finally:
        stop_serving(running)


def _code(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_unpaid_requests_cycling_through_models_load_nothing(two_models) -> None:
    serving, second, loads = two_models
    live, user, stranger = serving.live, serving.user(), serving.user(STRANGER)
    first = live.model_id
    payments = {first: user.pay(first, 2).created_id, second: user.pay(second, 2).created_id}
    other = {first: second, second: first}
    refused = []
    for i in range(20):
        model_id = (first, second)[i % 2]
        path, payment = f"/v1/models/{model_id}/predict", payments[model_id]
        kind = (i // 2) % 5
        if kind == 0:  # no payment at all
            response = user.http.post(path, content=BODY, headers={"content-type": "application/json"})
        elif kind == 1:  # the payer's payment, signed by someone else
            response = stranger.send(path, model_id, BODY, payment, 0)
        elif kind == 2:  # a signature over another body: recovers to a stranger
            headers = sign_request(user.client.signer, user.request_domain, model_id, payment, 0, b"{}")
            headers["content-type"] = "application/json"
            response = user.http.post(path, content=BODY, headers=headers)
        elif kind == 3:  # the other model's payment
            response = user.send(path, model_id, BODY, payments[other[model_id]], 0)
        else:  # no such payment
            response = user.send(path, model_id, BODY, 10**6, 0)
        refused.append(_code(response))
    assert loads == []  # not one load for 20 unpaid requests (before: one each, 20)
    assert refused == [
        (402, code)
        for code in ("payment_missing", "payment_not_yours", "payment_not_yours", "payment_wrong_model",
                     "payment_unknown")
        for _ in range(2)
    ] * 2  # fmt: skip
    assert serving.receipts.count() == 0

    # paid requests still load and answer; replays of their answered units then load nothing more
    answers = {m: user.predict(m, "good great happy", payments[m], 0) for m in (first, second)}
    assert loads == [first, second] and serving.service.catalog.loaded == [second]
    for i in range(10):
        model_id = (first, second)[i % 2]
        response = user.send(f"/v1/models/{model_id}/predict", model_id, BODY, payments[model_id], 0)
        assert _code(response) == (402, "payment_replayed")
    assert loads == [first, second]
    assert user.recover(first, payments[first], 0, BODY).output == answers[first].output  # stored answer
    assert user.predict(first, "bad awful sad", payments[first], 1).receipt.request_index == 1
    assert loads == [first, second, first] and serving.receipts.count() == 3


def test_a_failed_load_spends_nothing_and_the_unit_is_answered_on_retry(two_models, monkeypatch) -> None:
    serving, second, loads = two_models
    live, user = serving.live, serving.user()
    payment = user.pay(second, 1).created_id
    real = catalog_module.load_served_model
    failures = iter([True])

    def failing(client: Any, store: Any, model_id: int, *args: Any) -> Any:
        if next(failures, False):
            raise ModelUnavailable(f"model {model_id} cannot be served: boom", "model_unloadable", 503)
        return real(client, store, model_id, *args)

    monkeypatch.setattr(catalog_module, "load_served_model", failing)
    response = user.send(f"/v1/models/{second}/predict", second, BODY, payment, 0)
    error = response.json()["error"]
    status = (response.status_code, error["code"], response.headers["retry-after"])
    assert status == (503, "model_unloadable", "5")
    assert "cannot be served: boom" in error["message"]
    assert serving.receipts.count() == 0 and serving.receipts.used_indexes(payment) == []
    # the reservation was released: the same signed request is answered now, not 402 payment_in_flight
    assert user.predict(second, "good great happy", payment, 0).receipt.request_index == 0
    assert serving.receipts.count(second) == 1 and live.model_id not in serving.service.catalog.loaded
