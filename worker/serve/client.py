"""The user's side: pay on-chain, authorize each request with the payer's key, call the server, and
verify the receipt that comes back (signed by the model's registered compute provider, for this exact
request body and output). Streamed answers (`stream_complete`, `stream_chat`) yield their text as it is
generated and are verified the same way once their last event, the receipt, has arrived."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from worker.billing.authorization import request_domain, sign_request
from worker.billing.errors import ReceiptError
from worker.billing.receipts import Receipt, hash_hex, json_hash, receipt_domain
from worker.canonical import canonical_json
from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.serve.errors import ServeError

DEFAULT_SERVER = "http://127.0.0.1:8000"


class InferenceFailed(ServeError):
    """The server refused or failed a request; `status` and `code` are the server's."""


@dataclass(frozen=True)
class PaidAnswer:
    model_id: int
    output: dict[str, Any]
    receipt: Receipt
    response: dict[str, Any]


def server_url(client: ChainClient, model_id: int) -> str:
    """Where the model's compute provider said it serves (its WorkerRegistry endpoint)."""
    provider = client.models.get_model(model_id).compute_provider
    endpoint = client.workers.get_worker(provider).endpoint if int(provider, 16) else ""
    return endpoint if endpoint.startswith(("http://", "https://")) else DEFAULT_SERVER


def local_url(host: str, port: int) -> str:
    """The URL this machine reaches a server bound to (host, port) at: an IPv6 address in brackets, a
    wildcard bind (0.0.0.0, ::, or none) as the loopback address of its family."""
    host = host.strip().strip("[]")
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class InferenceClient:
    def __init__(self, client: ChainClient, server: str, timeout: float = 120.0):
        self.client = client
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, timeout=timeout, trust_env=False)
        chain_id, vault = client.sender.chain_id, client.vault.address
        self.request_domain = request_domain(chain_id, vault)
        self.receipt_domain = receipt_domain(chain_id, vault)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> InferenceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pay(
        self, model_id: int, requests: int, ref: bytes | None = None, max_price: int | None = None
    ) -> TxResult:
        """payForInference from the client's account; `created_id` is the payment id. `max_price` is the
        most paid per request (default: the price read just before paying; a raise in between reverts)."""
        return self.client.vault.pay_for_inference(model_id, requests, ref, max_price=max_price)

    def send(self, path: str, model_id: int, body: bytes, payment_id: int, index: int) -> httpx.Response:
        """POST `body` authorized as request `index` of `payment_id` (no checks: tests use it raw)."""
        headers = sign_request(self.client.signer, self.request_domain, model_id, payment_id, index, body)
        headers["content-type"] = "application/json"
        return self._request("POST", path, content=body, headers=headers)

    def wait_ready(self, timeout: float) -> None:
        """Poll the server's health for up to `timeout` seconds (one just started may still be loading
        its models); InferenceFailed if it never answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.http.get("/v1/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() >= deadline:
                self._request("GET", "/v1/health")  # the error that says what is wrong
                raise InferenceFailed(f"the server at {self.server} is not healthy", "unhealthy", 503)
            time.sleep(0.5)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise InferenceFailed(
                f"cannot reach the inference server at {self.server} ({type(exc).__name__}: {exc}): is "
                "`openledger serve` running there? pass --server URL to ask another",
                "unreachable",
                503,
            ) from None

    def _paid(
        self, path: str, model_id: int, payload: dict[str, Any], payment_id: int, index: int
    ) -> PaidAnswer:
        body = canonical_json(payload)
        response = self.send(path, model_id, body, payment_id, index)
        data = _answered(response)
        receipt = self.verify(model_id, data, body, payment_id, index)
        return PaidAnswer(model_id, data["output"], receipt, data)

    def predict(self, model_id: int, text: str, payment_id: int, index: int) -> PaidAnswer:
        return self._paid(f"/v1/models/{model_id}/predict", model_id, {"text": text}, payment_id, index)

    def complete(
        self, model_id: int, prompt: str, payment_id: int, index: int, max_tokens: int = 16
    ) -> PaidAnswer:
        payload = {"model": str(model_id), "prompt": prompt, "max_tokens": max_tokens}
        return self._paid("/v1/completions", model_id, payload, payment_id, index)

    def chat(
        self, model_id: int, messages: Sequence[dict[str, str]], payment_id: int, index: int,
        max_tokens: int = 16,
    ) -> PaidAnswer:
        """The assistant's next message after `messages` ([{"role", "content"}]); its text is
        `output["text"]`, the completion of the chat's prompt under the base model's chat template."""
        payload = {"model": str(model_id), "messages": list(messages), "max_tokens": max_tokens}
        return self._paid("/v1/chat/completions", model_id, payload, payment_id, index)

    def stream_complete(
        self, model_id: int, prompt: str, payment_id: int, index: int, max_tokens: int = 16
    ) -> AnswerStream:
        """`complete`, streamed: iterate the result for the text as it is generated."""
        payload = {"model": str(model_id), "prompt": prompt, "max_tokens": max_tokens}
        return self._streamed("/v1/completions", model_id, payload, payment_id, index)

    def stream_chat(
        self, model_id: int, messages: Sequence[dict[str, str]], payment_id: int, index: int,
        max_tokens: int = 16,
    ) -> AnswerStream:
        """`chat`, streamed: iterate the result for the text as it is generated."""
        payload = {"model": str(model_id), "messages": list(messages), "max_tokens": max_tokens}
        return self._streamed("/v1/chat/completions", model_id, payload, payment_id, index)

    def _streamed(
        self, path: str, model_id: int, payload: dict[str, Any], payment_id: int, index: int
    ) -> AnswerStream:
        body = canonical_json({**payload, "stream": True})
        return AnswerStream(self, path, model_id, body, payment_id, index)

    def verify(
        self, model_id: int, data: dict[str, Any], body: bytes, payment_id: int, index: int
    ) -> Receipt:
        """The answer's receipt, checked: signed by the model's compute provider under this chain and
        vault, for this model, payment, index, request body and output."""
        return self._verified(model_id, data, hash_hex(body), payment_id, index)

    def _verified(
        self, model_id: int, data: dict[str, Any], body_hash: str, payment_id: int, index: int
    ) -> Receipt:
        receipt = Receipt.from_dict(data.get("receipt"))
        provider = self.client.models.get_model(model_id).compute_provider
        receipt.verify(self.receipt_domain, expected_signer=provider)
        expected = {
            "model": (receipt.model_id, model_id),
            "payment": (receipt.payment_id, payment_id),
            "request index": (receipt.request_index, index),
            "request hash": (receipt.request_hash, body_hash),
            "output hash": (receipt.output_hash, json_hash(data.get("output"))),
        }
        for name, (found, wanted) in expected.items():
            if found != wanted:
                raise ReceiptError(
                    f"the receipt's {name} is {found}, expected {wanted}: do not trust this answer"
                )
        return receipt

    def recover(self, model_id: int, payment_id: int, index: int, body: bytes | None = None) -> PaidAnswer:
        """An answer this account paid for and lost (a crash, a dropped connection), fetched again with its
        receipt, which is checked as on the first delivery (the request hash too when `body` is given)."""
        headers = sign_request(self.client.signer, self.request_domain, model_id, payment_id, index, b"")
        response = self._request("GET", f"/v1/receipts/{payment_id}/{index}", headers=headers)
        data = _answered(response)
        if body is None:  # the request's bytes are gone too: check everything but their hash
            body_hash = Receipt.from_dict(data.get("receipt")).request_hash
            receipt = self._verified(model_id, data, body_hash, payment_id, index)
        else:
            receipt = self.verify(model_id, data, body, payment_id, index)
        return PaidAnswer(model_id, data["output"], receipt, data)

    def payment(self, payment_id: int) -> dict[str, Any]:
        data: dict[str, Any] = _answered(self._request("GET", f"/v1/payments/{payment_id}"))
        return data

    def models(self) -> list[dict[str, Any]]:
        return list(_json(self._request("GET", "/v1/models")).get("data", []))


class AnswerStream:
    """A streamed answer. Iterating yields its text piece by piece as the server generates it; once the
    stream ends, `answer` is the PaidAnswer, its receipt verified as `verify` does and the streamed text
    checked to be exactly the receipted one. A stream cut before its receipt raises InferenceFailed
    (`stream_incomplete`): the answer was still receipted, `InferenceClient.recover` fetches it."""

    def __init__(
        self, user: InferenceClient, path: str, model_id: int, body: bytes, payment_id: int, index: int
    ):
        self.user, self.path, self.model_id, self.body = user, path, model_id, body
        self.payment_id, self.index = payment_id, index
        self.text = ""  # what has arrived so far
        self.answer: PaidAnswer | None = None

    def __iter__(self) -> Iterator[str]:
        user = self.user
        headers = sign_request(
            user.client.signer, user.request_domain, self.model_id, self.payment_id, self.index, self.body
        )
        headers["content-type"] = "application/json"
        last: dict[str, Any] | None = None
        try:
            with user.http.stream("POST", self.path, content=self.body, headers=headers) as response:
                if response.status_code != 200:
                    response.read()
                    _answered(response)
                for data in _events(response):
                    if "receipt" in data:
                        last = data
                    elif piece := _piece(data):
                        self.text += piece
                        yield piece
        except httpx.HTTPError as exc:
            raise InferenceFailed(
                f"the stream from {user.server} broke ({type(exc).__name__}: {exc}); the answer is still "
                "receipted: fetch it with InferenceClient.recover(model, payment, index)",
                "stream_incomplete",
                503,
            ) from None
        if last is None:
            raise InferenceFailed(
                "the stream ended before its receipt: fetch the answer with InferenceClient.recover(model, "
                "payment, index)",
                "stream_incomplete",
                502,
            )
        receipt = user.verify(self.model_id, last, self.body, self.payment_id, self.index)
        if last["output"].get("text") != self.text:
            raise ReceiptError(
                f"the streamed text {self.text!r} is not the receipted text {last['output'].get('text')!r}: "
                "do not trust this answer"
            )
        self.answer = PaidAnswer(self.model_id, last["output"], receipt, last)

    def collect(self) -> PaidAnswer:
        """Read the whole stream; the verified answer."""
        for _ in self:
            pass
        assert self.answer is not None  # set by a stream that ended with its receipt, else it raised
        return self.answer


def _events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON events of a server-sent event stream up to `[DONE]`; an error event raises InferenceFailed."""
    lines: list[str] = []
    for line in response.iter_lines():
        if line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
            continue
        if line or not lines:
            continue  # comments, other fields, blank lines between events
        data, lines = "\n".join(lines), []
        if data == "[DONE]":
            return
        event = json.loads(data)
        if isinstance(event, dict) and "error" in event:
            error = event["error"] if isinstance(event["error"], dict) else {}
            raise InferenceFailed(str(error.get("message") or event), error.get("code"), 503)
        if isinstance(event, dict):
            yield event


def _piece(chunk: dict[str, Any]) -> str:
    """The text a completion or chat chunk adds."""
    choices = chunk.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    delta = choice.get("delta")
    text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
    return text if isinstance(text, str) else ""


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _answered(response: httpx.Response) -> Any:
    """The answer's JSON; InferenceFailed with the server's message and code when it was refused."""
    data = _json(response)
    if response.status_code != 200:
        error = data.get("error", {}) if isinstance(data, dict) else {}
        raise InferenceFailed(
            error.get("message") or response.text[:500], error.get("code"), response.status_code
        )
    return data
