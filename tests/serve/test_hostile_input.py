"""Hostile HTTP input gets a clear 4xx and costs the payer nothing; a dead RPC is a 503 with Retry-After.
Never a 500: Unicode digits and huge or negative ids, deeply nested JSON, chunked bodies past the limit,
an unreachable chain."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from paidmodel import WORKER, make_service, start_serving, stop_serving
from rpc_proxy import RpcProxy

from worker.billing.authorization import INDEX_HEADER, PAYMENT_HEADER, SIGNATURE_HEADER
from worker.billing.limits import RateLimit
from worker.chain.client import ChainClient
from worker.chain.connection import connect
from worker.serve import InferenceFailed, ServeConfig, ServerThread, create_app


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def _wire(value: str) -> bytes:
    """Header bytes as a client would send them; servers read header bytes as Latin-1, so b"\xb2" arrives
    as "²", which str.isdigit() accepts."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


HUGE = "9" * 5000
ABOVE_UINT256 = str(2**256)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"/v1/payments/{HUGE}", (422, "invalid_request")),
        (f"/v1/payments/{ABOVE_UINT256}", (422, "invalid_id")),
        ("/v1/payments/-1", (422, "invalid_request")),
        ("/v1/payments/%C2%B2", (422, "invalid_request")),  # "²", a Unicode digit
        (f"/v1/payments/{2**255}", (404, "payment_unknown")),  # a uint256 no payment has
        (f"/v1/receipts/{2**255}/{2**200}", (404, "receipt_not_found")),  # beyond SQLite's int64
        (f"/v1/receipts/1/{HUGE}", (422, "invalid_request")),
    ],
)
def test_ids_are_bounded_uint256(serving, path: str, expected: tuple[int, str]) -> None:
    assert _error(serving.user().http.get(path)) == expected


@pytest.mark.parametrize(
    ("payment", "index"),
    [("²", "0"), ("1", "٣"), (HUGE, "0"), ("1", ABOVE_UINT256), ("-1", "0"), ("0x1", "0")],
)
def test_payment_headers_that_are_not_uint256_are_malformed(serving, payment: str, index: str) -> None:
    live, user = serving.live, serving.user()
    paid = user.pay(live.model_id, 1).created_id
    signed = user.send(f"/v1/models/{live.model_id}/predict", live.model_id, b'{"text":"x"}', paid, 0)
    assert signed.status_code == 200  # the same request, well-formed, is answered
    headers: dict[str, str | bytes] = {
        PAYMENT_HEADER: _wire(payment),
        INDEX_HEADER: _wire(index),
        SIGNATURE_HEADER: "0x" + "11" * 65,
        "content-type": "application/json",
    }
    response = user.http.post(
        f"/v1/models/{live.model_id}/predict", content=b'{"text":"x"}', headers=headers
    )
    assert _error(response) == (402, "payment_malformed")


@pytest.mark.parametrize("model", [f'"{HUGE}"', f'"{ABOVE_UINT256}"', '"-3"', '"²"', "[]"])
def test_completion_model_ids_are_checked(serving, model: str) -> None:
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    body = b'{"model": ' + model.encode() + b', "prompt": "hi"}'
    assert _error(user.send("/v1/completions", live.model_id, body, payment, 0))[0] == 422
    assert serving.receipts.count() == 0


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_refused_before_parsing(serving, depth: int) -> None:
    live, user = serving.live, serving.user()
    payment = user.pay(live.model_id, 1).created_id
    body = b'{"text": "x", "extra": ' + b"[" * depth + b"]" * depth + b"}"
    if len(body) > 64 * 1024:
        body = b"[" * 60_000 + b"]" * 60_000
        body = body[: 64 * 1024 - 10]
    response = user.send(f"/v1/models/{live.model_id}/predict", live.model_id, body, payment, 0)
    assert _error(response) == (422, "invalid_request")
    assert serving.receipts.count() == 0


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_chunked_body_is_cut_at_the_limit_without_being_held(serving) -> None:
    """128 MB streamed without Content-Length: 413, and the server (a thread of this process) never holds
    more than a few chunks of it (reading it whole first would add the whole body to the process)."""
    live, user = serving.live, serving.user()
    before, peak, done = _rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes() - before)
            time.sleep(0.01)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server has to count
        block = b"a" * (64 * 1024)
        for _ in range(2_000):
            yield block

    headers = {"content-type": "application/json", PAYMENT_HEADER: "1", INDEX_HEADER: "0",
               SIGNATURE_HEADER: "0x" + "11" * 65}
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        response = user.http.post(f"/v1/models/{live.model_id}/predict", content=chunks(), headers=headers)
        assert _error(response) == (413, "request_too_large")
    except httpx.HTTPError:
        pass  # the server answered 413 and closed the connection while the client was still sending
    finally:
        done.set()
        sampler.join()
    assert peak[0] < 32 * 1024 * 1024
    assert serving.receipts.count() == 0


def test_a_declared_length_that_is_not_a_number_is_a_4xx(serving) -> None:
    live, user = serving.live, serving.user()
    request = user.http.build_request(
        "POST", f"/v1/models/{live.model_id}/predict", content=b'{"text":"x"}',
        headers={"content-type": "application/json"},
    )
    request.headers["content-length"] = "²"
    try:
        status = user.http.send(request).status_code
    except httpx.HTTPError:
        return  # refused at the HTTP layer (uvicorn), before the app: never a 500 either
    assert 400 <= status < 500


def test_an_unreachable_rpc_is_a_503_with_retry_after(live, tmp_path) -> None:
    proxy = RpcProxy(live.chain.w3.provider.endpoint_uri)
    proxy.up()
    worker = live.client(WORKER)
    client = ChainClient(connect(proxy.url), worker.signer, worker.deployment)
    service = make_service(live, tmp_path)
    service.client = client
    service.gate.client = service.gate.book.client = service.gate.book.index.client = client
    server = ServerThread(create_app(service)).start()
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
            assert http.get("/v1/payments/1").status_code in (200, 404)
            proxy.down()
            response = http.get("/v1/payments/2")  # (not 1: an unknown id is remembered for 2 s)
            assert _error(response) == (503, "backend_unavailable")
            assert response.headers["retry-after"] == "5"
            proxy.up()
            assert http.get("/v1/payments/3").status_code in (200, 404)
    finally:
        server.stop()
        service.receipts.close()
        proxy.down()


def test_limits_answer_429_with_retry_after(live, tmp_path) -> None:
    config = ServeConfig(ip_limit=RateLimit(rate=0.5, burst=3), payer_limit=RateLimit(rate=0.5, burst=1))
    running = start_serving(live, tmp_path, config)
    try:
        user = running.user()
        payment = user.pay(live.model_id, 2).created_id
        assert user.predict(live.model_id, "good", payment, 0).receipt.request_index == 0
        with pytest.raises(InferenceFailed) as payer:  # the same payer again, at once
            user.predict(live.model_id, "good", payment, 1)
        assert (payer.value.status, payer.value.code) == (429, "rate_limited")
        statuses = [user.http.get("/v1/health") for _ in range(2)]  # the address's third and fourth
        assert statuses[-1].status_code == 429 and int(statuses[-1].headers["retry-after"]) >= 1
        assert running.receipts.count() == 1
    finally:
        stop_serving(running)


def test_a_bad_signature_is_refused_before_any_payment_lookup(serving) -> None:
    live, user = serving.live, serving.user()
    book = serving.service.gate.book
    lookups: list[int] = []
    real = book.index.lookup

    def counted(payment_id: int):
        lookups.append(payment_id)
        return real(payment_id)

    book.index.lookup = counted  # type: ignore[method-assign]
    try:
        headers = {PAYMENT_HEADER: "12345", INDEX_HEADER: "0", SIGNATURE_HEADER: "0x" + "11" * 65,
                   "content-type": "application/json"}
        path = f"/v1/models/{live.model_id}/predict"
        response = user.http.post(path, content=b'{"text":"x"}', headers=headers)
        assert _error(response) == (402, "payment_malformed") and lookups == []
        for _ in range(20):  # a flood of signed requests for one unknown payment: one chain lookup
            assert _error(user.send(f"/v1/models/{live.model_id}/predict", live.model_id, b'{"text":"x"}',
                                    424242, 0)) == (402, "payment_unknown")
        assert lookups == [424242]
    finally:
        book.index.lookup = real  # type: ignore[method-assign]
