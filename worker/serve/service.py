"""The inference service behind the HTTP API: parse, find the model, check the payment, reserve the unit,
load the model, answer, sign the receipt, store it durably, and only then return.

Only a paid request loads a model: unknown, not-live and not-served models are refused from the cached
chain view, and the payment is checked and its unit reserved before the catalog may load anything (a
load is slow and serialized, and unpaid requests cycling through models would otherwise stall every
paying one once `max_adapters` evicts).

The order matters: a request unit is spent (its receipt committed to the receipt log) only when an
answer exists, so a failure before that costs the payer nothing; once committed, the unit can never be
answered again, whatever crashes follow.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from worker.billing.authorization import PAYMENT_HEADER, RequestAuthorization
from worker.billing.errors import PaymentRequired
from worker.billing.gate import PaidRequest, PaymentGate
from worker.billing.limits import RateLimit
from worker.billing.payments import UNIT_TTL, PaymentBook
from worker.billing.receipt_log import ReceiptLog
from worker.billing.receipts import Receipt, ReceiptBody, json_hash, receipt_domain, sign_receipt
from worker.chain.client import ChainClient
from worker.faults import failpoint
from worker.serve.catalog import MAX_ADAPTERS, ModelCatalog
from worker.serve.errors import InvalidRequest, RequestTooLarge, ServeError
from worker.serve.openai_format import (
    AnswerFormat,
    AnswerKind,
    ChatRequest,
    CompletionRequest,
    GenerationRequest,
)
from worker.serve.served_model import Answer, AnswerSettings, ServedModel
from worker.storage import ContentStore
from worker.units import parse_uint256


@dataclass(frozen=True)
class ServeConfig:
    max_body_bytes: int = 64 * 1024
    body_seconds: float = 30.0  # the whole body must arrive within this (408 after)
    max_text_chars: int = 4000  # the default per-record limit of a Datanet
    max_tokens: int = 64
    confirmations: int | None = None  # a payment's depth before it is honoured; None: the chain's finality
    unit_ttl: int = UNIT_TTL  # seconds of chain time a paid unit stays usable (billing/payments.py)
    answers: AnswerSettings = field(default_factory=AnswerSettings)
    max_adapters: int = MAX_ADAPTERS  # models kept loaded at once, least recently used out (catalog.py)
    # 429 beyond these (rate 0: no limit); generous defaults, well above what 2 cores answer
    ip_limit: RateLimit = RateLimit(rate=200.0, burst=400)
    payer_limit: RateLimit = RateLimit(rate=100.0, burst=200)


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)


# Builds the answer's computation once the model is loaded: refuses what the model cannot answer (a wrong
# endpoint, a chat its template refuses); the unit's reservation is then released, so it costs nothing.
Plan = Callable[[ServedModel], Callable[[], Answer]]


class AnswerEvents(Protocol):
    """Where a streamed answer goes while it is computed (called from the thread computing it)."""

    def started(self, answer: AnswerFormat) -> None:
        """Every check passed and the unit is reserved: the stream may begin."""

    def text(self, piece: str) -> None:
        """More of the answer's text."""


MAX_JSON_DEPTH = 32  # request bodies are flat objects; deeper nesting is refused before it is parsed


def nesting_depth(body: bytes) -> int:
    """The deepest [ / { nesting outside strings (only scanned when the body holds many brackets)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _parse(kind: type[BaseModel], body: bytes) -> Any:
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and nesting_depth(body) > MAX_JSON_DEPTH:
        raise InvalidRequest(f"the request body nests JSON deeper than {MAX_JSON_DEPTH} levels")
    try:
        return kind.model_validate(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"the request body is not JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequest("the request body nests JSON too deeply") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidRequest(f"invalid request: {problems}") from None


class InferenceService:
    def __init__(
        self,
        client: ChainClient,
        store: ContentStore,
        receipts: ReceiptLog,
        cache_dir: Path,
        config: ServeConfig | None = None,
        models: set[int] | None = None,
        device: str | None = None,
    ):
        self.client, self.receipts = client, receipts
        self.config = config or ServeConfig()
        self.catalog = ModelCatalog(
            client, store, cache_dir, models, self.config.answers, device, self.config.max_adapters
        )
        config = self.config
        # One book on the receipt log's database: the payment index is shared with the epoch service
        # and with every replica on that database.
        self.payments = PaymentBook(client, config.confirmations, database=receipts.database)
        self.gate = PaymentGate(
            client, unit_ttl=config.unit_ttl, payer_limit=config.payer_limit, book=self.payments
        )
        self.domain = receipt_domain(client.sender.chain_id, client.vault.address)

    # -- answers -------------------------------------------------------------------------------------

    def _answer(
        self,
        model_id: int,
        task: str,
        body: bytes,
        headers: Mapping[str, str],
        plan: Plan,
        started: Callable[[PaidRequest], None] | None = None,
    ) -> tuple[Answer, Receipt]:
        """Every answer's one path: find the model on-chain, check the payment, reserve the unit, load
        the model, plan the work, compute, sign, commit the receipt. `started` runs once nothing can
        refuse the request any more (a stream begins there: refusals before it are plain JSON errors).

        Nothing is loaded before the unit is reserved: a request that is unpaid, badly signed, for an
        answered unit or a copy of one in flight never reaches `catalog.get`. A load that fails (503
        model_unloadable) or a plan that refuses releases the unit unspent."""
        model = self.catalog.servable(model_id)  # 404/409 from the cached chain view, nothing loaded
        paid = self.gate.check(model_id, headers, body)
        known = self.catalog.task_of(model, model_id)  # a wrong endpoint refused before any load
        if known is not None:
            _check_task(model_id, known, task)
        unit = (paid.payment.payment_id, paid.index)
        # A second copy of this request now gets 402 payment_in_flight; an answered unit 402
        # payment_replayed (neither loads the model).
        self.receipts.reserve(*unit, payment_tx=paid.payment.tx_hash)
        try:
            served = self.catalog.get(model_id)
            compute = plan(served)
            if started is not None:
                started(paid)
            with served.lock:
                answer = compute()
            receipt = self._sign(served, paid, answer)
            # Durable (with the answer) before the answer leaves; ends the reservation.
            self.receipts.record(receipt, answer.output, paid.payment.tx_hash)
        except BaseException:
            self.receipts.release(*unit)
            raise
        failpoint("after-receipt")  # crash tests: the receipt is durable, the answer never sent
        return answer, receipt

    def _sign(self, served: ServedModel, paid: PaidRequest, answer: Answer) -> Receipt:
        attribution = answer.attribution
        body = ReceiptBody(
            model_id=served.model_id,
            adapter_cid=served.adapter_cid,
            payment_id=paid.payment.payment_id,
            request_index=paid.index,
            request_hash=paid.body_hash,
            output_hash=json_hash(answer.output),
            evidence_hash=json_hash(attribution.evidence),
            contributors=attribution.contributors,
            weights_ppm=attribution.weights_ppm,
            basis=attribution.basis,
            issued_at=int(time.time()),
            evidence=attribution.evidence,
        )
        return sign_receipt(self.client.signer, self.domain, body)

    def _check_size(self, body: bytes) -> None:
        if len(body) > self.config.max_body_bytes:
            raise RequestTooLarge(
                f"the request body is {len(body)} bytes; "
                f"this server accepts at most {self.config.max_body_bytes}"
            )

    def _check_chars(self, text: str, field_name: str) -> None:
        if len(text) > self.config.max_text_chars:
            raise RequestTooLarge(
                f"{field_name} is {len(text)} characters; at most {self.config.max_text_chars} are accepted"
            )

    def predict(self, model_id: int, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        self._check_size(body)
        request: PredictRequest = _parse(PredictRequest, body)
        self._check_chars(request.text, "text")

        def plan(served: ServedModel) -> Callable[[], Answer]:
            _check_task(served.model_id, served.task, "classification")
            return lambda: served.classify(request.text)

        answer, receipt = self._answer(model_id, "classification", body, headers, plan)
        return {"model": str(model_id), "output": answer.output, "receipt": receipt.to_dict()}

    def complete(
        self, body: bytes, headers: Mapping[str, str], events: AnswerEvents | None = None
    ) -> dict[str, Any]:
        """POST /v1/completions: the answer, or with `stream: true` the last chunk of the stream that
        `events` carried (which must then be given)."""
        self._check_size(body)
        request: CompletionRequest = _parse(CompletionRequest, body)
        self._check_chars(request.prompt, "prompt")
        prompt = request.prompt
        return self._generate("completion", request, lambda _: prompt, body, headers, events)

    def chat(
        self, body: bytes, headers: Mapping[str, str], events: AnswerEvents | None = None
    ) -> dict[str, Any]:
        """POST /v1/chat/completions: the completion of the chat's prompt (serve/chat.py), as `complete`."""
        self._check_size(body)
        request: ChatRequest = _parse(ChatRequest, body)
        messages = request.as_dicts()
        self._check_chars("".join(m["content"] for m in messages), "the messages' content")
        return self._generate("chat", request, lambda m: m.chat_prompt(messages), body, headers, events)

    def _generate(
        self,
        kind: AnswerKind,
        request: GenerationRequest,
        prompt_for: Callable[[ServedModel], str],
        body: bytes,
        headers: Mapping[str, str],
        events: AnswerEvents | None,
    ) -> dict[str, Any]:
        max_tokens = request.token_limit
        if max_tokens > self.config.max_tokens:
            raise RequestTooLarge(f"max_tokens is {max_tokens}; at most {self.config.max_tokens} allowed")
        model_id = _model_id(request.model)
        stream = events if request.stream else None
        if request.stream and stream is None:
            raise InvalidRequest("stream: true is answered over HTTP only (server-sent events)")
        created = int(time.time())  # one time for every chunk of a stream, as OpenAI's

        def plan(served: ServedModel) -> Callable[[], Answer]:
            _check_task(served.model_id, served.task, "generation")
            prompt = prompt_for(served)
            on_text = stream.text if stream is not None else None
            return lambda: served.complete(prompt, max_tokens, on_text)

        def started(paid: PaidRequest) -> None:
            if stream is not None:
                stream.started(AnswerFormat(kind, model_id, paid.payment.payment_id, paid.index, created))

        answer, receipt = self._answer(model_id, "generation", body, headers, plan, started)
        written = AnswerFormat(kind, model_id, receipt.payment_id, receipt.request_index, created)
        if stream is not None:
            return written.closing(answer.output, receipt)
        return written.whole(answer.output, receipt)

    # -- lookups -------------------------------------------------------------------------------------

    def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [m.to_dict() for m in self.catalog.listing()]}

    def payment(self, payment_id: int) -> dict[str, Any]:
        found = self.gate.book.status(payment_id)
        if found.payment is None:
            raise ServeError(f"payment {payment_id} is not on-chain", code="payment_unknown", status=404)
        used = self.receipts.used_indexes(payment_id)
        taken, next_index = set(used), 0
        while next_index in taken:
            next_index += 1
        return {
            "paymentId": payment_id,
            "model": str(found.payment.model_id),
            "payer": found.payment.payer,
            "requestCount": found.payment.request_count,
            "confirmations": found.confirmations,
            "expiresAt": self.gate.expires_at(found.payment),
            "used": used,
            "nextIndex": next_index if next_index < found.payment.request_count else None,
        }

    def receipt(
        self, payment_id: int, index: int, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """A stored receipt (public: it holds hashes, not the answer). With the payer's authorization of
        this (payment, index) over an empty body, the answer too, as the answering request returned it."""
        found = self.receipts.find(payment_id, index)
        if found is None:
            raise ServeError(
                f"no receipt for request {index} of payment {payment_id}", "receipt_not_found", 404
            )
        if not headers or not any(h.lower() == PAYMENT_HEADER.lower() for h in headers):
            return found.to_dict()
        auth = RequestAuthorization.from_headers(headers)
        if (auth.payment_id, auth.index) != (payment_id, index):
            raise PaymentRequired(
                f"the authorization is for request {auth.index} of payment {auth.payment_id}, not this one",
                code="payment_malformed",
            )
        signer = auth.signer(self.gate.domain, found.model_id, b"")
        payer = self.gate.book.confirmed(payment_id).payer
        if signer != payer:
            raise PaymentRequired(
                f"only the payer {payer} can read this answer; the request is signed by {signer}",
                code="payment_not_yours",
            )
        return {"model": str(found.model_id), "output": self.receipts.answer(payment_id, index),
                "receipt": found.to_dict()}


def _check_task(model_id: int, actual: str, task: str) -> None:
    """InvalidRequest wrong_endpoint unless the model's task (`actual`) is the endpoint's."""
    if actual == task:
        return
    if task == "generation":
        where = f"model {model_id} is a classifier: use POST /v1/models/{model_id}/predict"
    else:
        where = f"model {model_id} is a language model: use POST /v1/completions or /v1/chat/completions"
    raise InvalidRequest(where, code="wrong_endpoint")


def _model_id(value: str | int) -> int:
    try:
        model_id = parse_uint256(str(value).strip())
    except ValueError:
        model_id = 0
    if model_id < 1:
        raise InvalidRequest(f"model must be an on-chain model id (1, 2, ...), got {str(value)[:80]!r}")
    return model_id
