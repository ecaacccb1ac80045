"""The HTTP API (FastAPI): live models, paid predictions and OpenAI-compatible completions with receipts.

    GET  /v1/models                       live models with prices (and which ones this server answers)
    POST /v1/models/{id}/predict          {"text": ...} -> {"output": {label, probabilities}, "receipt"}
    POST /v1/completions                  OpenAI body {"model": "<id>", "prompt", "max_tokens"} + "receipt"
    POST /v1/chat/completions             OpenAI body {"model": "<id>", "messages", "max_tokens"} + "receipt"
    GET  /v1/payments/{id}                a payment's request units and which are used
    GET  /v1/receipts/{payment}/{index}   a stored receipt; with the payer's signed headers (empty body)
                                          also the answer, for a client that lost it
Paid requests carry the payer's authorization headers (worker.billing.authorization). Errors are
{"error": {"message", "type", "code"}}: 402 for payment problems, 404/409 for models, 413 for oversized
bodies (counted as they stream, chunked ones included), 422 for malformed requests and ids (decimal
uint256 only), 503 with Retry-After when a dependency (the chain's RPC, the content store) fails. Model
work runs in a thread pool, off the event loop.

`stream: true` on either generation endpoint answers with server-sent events once every check has passed
and the unit is reserved (refusals before that are the usual JSON errors): the text as it is generated,
then the chunk with the committed receipt, then `[DONE]`. The answer is computed by a task of its own,
so a client that goes away mid-stream still gets it receipted, recoverable at GET /v1/receipts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import FastAPI, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from worker.billing.authorization import INDEX_HEADER, PAYMENT_HEADER, SIGNATURE_HEADER
from worker.billing.errors import PaymentRequired, RateLimited
from worker.billing.limits import RateLimiter
from worker.chain.retry import rpc_unavailable
from worker.errors import OpenLedgerError
from worker.serve.errors import (
    DependencyUnavailable,
    InvalidRequest,
    RequestTimeout,
    RequestTooLarge,
    ServeError,
)
from worker.serve.openai_format import DONE, AnswerFormat, error_body, sse
from worker.serve.service import AnswerEvents, InferenceService
from worker.units import parse_uint256

log = logging.getLogger("openledger.serve")
RETRY_AFTER_S = 5  # what a client should wait before retrying when a dependency is down

# A uint256 in decimal: the OpenAPI schema says so, and `_uint256` refuses what the pattern lets through.
Uint256Path = Annotated[str, Path(pattern=r"^[0-9]{1,78}$", examples=["1"])]

_PAYMENT_HEADERS: list[dict[str, Any]] = [
    {"name": PAYMENT_HEADER, "in": "header", "required": True, "schema": {"type": "string"}},
    {"name": INDEX_HEADER, "in": "header", "required": True, "schema": {"type": "string"}},
    {"name": SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"}},
]


def _json_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """The documented request body (the route reads raw bytes itself, to count and sign them)."""
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "parameters": _PAYMENT_HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
    }


PREDICT_BODY = _json_body({"text": {"type": "string", "minLength": 1}}, ["text"])
COMPLETION_BODY = _json_body(
    {
        "model": {"type": "string"},
        "prompt": {"type": "string", "minLength": 1},
        "max_tokens": {"type": "integer", "minimum": 1},
        "stream": {"type": "boolean"},
    },
    ["model", "prompt"],
)
CHAT_BODY = _json_body(
    {
        "model": {"type": "string"},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "role": {"enum": ["system", "developer", "user", "assistant"]},
                    "content": {"type": "string"},
                },
                "required": ["role", "content"],
            },
        },
        "max_tokens": {"type": "integer", "minimum": 1},
        "stream": {"type": "boolean"},
    },
    ["model", "messages"],
)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _unavailable(message: str, code: str = "backend_unavailable") -> JSONResponse:
    return error_response(503, code, message, {"Retry-After": str(RETRY_AFTER_S)})


def too_many(exc: RateLimited) -> JSONResponse:
    return error_response(429, exc.code, str(exc), {"Retry-After": str(max(1, math.ceil(exc.retry_after)))})


def client_key(host: str) -> str:
    """Who the per-address limit counts: an IPv4 address, or an IPv6 /64 (one subscriber's network,
    whose addresses are free to rotate)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _uint256(text: str, what: str) -> int:
    try:
        return parse_uint256(text)
    except ValueError:
        message = f"{what} must be a decimal uint256, got {text[:80]!r}"
        raise InvalidRequest(message, code="invalid_id") from None


async def read_body(request: Request, limit: int, seconds: float) -> bytes:
    """The body, counted as it arrives: refused at the limit whatever Content-Length says (or does not),
    and given up (408) unless all of it arrived within `seconds` (a client dripping a byte at a time)."""
    try:
        return await asyncio.wait_for(_read_body(request, limit), timeout=seconds)
    except TimeoutError:
        raise RequestTimeout(
            f"the request body did not arrive within {seconds:g} s: send it whole, promptly"
        ) from None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = parse_uint256(declared.strip())
        except ValueError:
            raise InvalidRequest("Content-Length is not a number", code="invalid_request") from None
        if size > limit:
            raise RequestTooLarge(f"the request body is {size} bytes; this server accepts at most {limit}")
    chunks, received = [], 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise RequestTooLarge(f"the request body exceeds {limit} bytes, the most this server accepts")
        chunks.append(chunk)
    return b"".join(chunks)


async def off_loop(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run service work off the event loop; a node that cannot be reached becomes a 503, not a 500."""
    try:
        return await run_in_threadpool(fn, *args)
    except OpenLedgerError:
        raise
    except Exception as exc:
        if rpc_unavailable(exc):
            raise DependencyUnavailable(
                f"the chain's RPC endpoint is unreachable or overloaded ({type(exc).__name__}): retry later"
            ) from exc
        log.exception("unexpected error while answering")  # a bug: the payer's unit was not spent
        raise ServeError(
            f"an unexpected {type(exc).__name__} on this server (logged); the request unit was not spent",
            code="internal_error",
            status=500,
        ) from exc


class EventChannel(AnswerEvents):
    """A streamed answer's events, from the thread computing it to the event loop that sends them."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def started(self, answer: AnswerFormat) -> None:
        self._put(("started", answer))

    def text(self, piece: str) -> None:
        self._put(("text", piece))

    def _put(self, item: tuple[str, Any]) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (the server stopped): the answer is committed regardless
            pass


def stream_error(exc: Exception) -> dict[str, Any]:
    """The error event of a stream that failed after it began (the unit was released, not spent)."""
    if isinstance(exc, ServeError | PaymentRequired):
        return error_body(exc.code, str(exc))
    if isinstance(exc, OpenLedgerError):
        return error_body("backend_unavailable", f"{type(exc).__name__}: {exc}")
    return error_body("internal_error", f"an unexpected {type(exc).__name__} on this server")


Generation = Callable[[bytes, Mapping[str, str], AnswerEvents], dict[str, Any]]


async def answer_or_stream(
    run: Generation, body: bytes, headers: Mapping[str, str], jobs: set[asyncio.Future[Any]]
) -> dict[str, Any] | StreamingResponse:
    """Run a generation in a task of its own (held in `jobs` until it ends): its answer when it is not
    streamed or was refused, else the stream of its events, which begins once every check has passed."""
    channel = EventChannel(asyncio.get_running_loop())
    job = asyncio.ensure_future(off_loop(run, body, headers, channel))
    jobs.add(job)
    job.add_done_callback(jobs.discard)
    # queued after every piece of text: the thread's own call_soon_threadsafe calls came first
    job.add_done_callback(lambda _: channel.queue.put_nowait(("end", None)))
    event, answer = await channel.queue.get()
    if event == "end":
        return job.result()  # the whole answer, or the refusal (a JSON error)
    return StreamingResponse(
        _events(answer, channel, job),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    answer: AnswerFormat, channel: EventChannel, job: asyncio.Future[dict[str, Any]]
) -> AsyncIterator[bytes]:
    opening = answer.opening()
    if opening is not None:
        yield sse(opening)
    while True:
        event, piece = await channel.queue.get()
        if event != "text":
            break
        yield sse(answer.delta(piece))
    try:
        last = job.result()  # the chunk with the receipt, committed before it is sent
    except Exception as exc:
        yield sse(stream_error(exc))
        return
    yield sse(last)
    yield sse(DONE)


def install_error_handlers(app: FastAPI) -> None:
    """The project's HTTP error mapping (also the explorer's): a ServeError is its status and code, any
    other OpenLedgerError a dependency that failed (503 with Retry-After), malformed input 422, unknown
    routes 404; every answer is {"error": {"message", "type", "code"}}."""

    @app.exception_handler(ServeError)
    async def serve_error(_request: Request, exc: ServeError) -> JSONResponse:
        if exc.status == 503:
            return _unavailable(str(exc), exc.code)
        return error_response(exc.status, exc.code, str(exc))

    @app.exception_handler(OpenLedgerError)
    async def backend_error(_request: Request, exc: OpenLedgerError) -> JSONResponse:
        return _unavailable(f"{type(exc).__name__}: {exc}")

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return error_response(422, "invalid_request", problems)


def create_app(service: InferenceService) -> FastAPI:
    app = FastAPI(title="OpenLedger inference", version="1")
    limit, body_seconds = service.config.max_body_bytes, service.config.body_seconds
    per_ip = RateLimiter(service.config.ip_limit, "client address")

    @app.middleware("http")
    async def limit_clients(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Per client address, before the body is read or any work is done."""
        try:
            per_ip.take(client_key(request.client.host if request.client else "unknown"))
        except RateLimited as exc:
            return too_many(exc)
        return await call_next(request)

    install_error_handlers(app)

    @app.exception_handler(RateLimited)
    async def rate_limited(_request: Request, exc: RateLimited) -> JSONResponse:
        return too_many(exc)

    @app.exception_handler(PaymentRequired)
    async def payment_required(_request: Request, exc: PaymentRequired) -> JSONResponse:
        return error_response(402, exc.code, str(exc))

    @app.get("/v1/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "worker": service.client.address}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return await off_loop(service.models)

    @app.post("/v1/models/{model_id}/predict", openapi_extra=PREDICT_BODY)
    async def predict(model_id: Uint256Path, request: Request) -> dict[str, Any]:
        model = _uint256(model_id, "the model id")
        body = await read_body(request, limit, body_seconds)
        return await off_loop(service.predict, model, body, dict(request.headers))

    jobs: set[asyncio.Future[Any]] = set()  # answers being computed, whether or not anyone still listens

    @app.post("/v1/completions", openapi_extra=COMPLETION_BODY, response_model=None)
    async def completions(request: Request) -> dict[str, Any] | StreamingResponse:
        body = await read_body(request, limit, body_seconds)
        return await answer_or_stream(service.complete, body, dict(request.headers), jobs)

    @app.post("/v1/chat/completions", openapi_extra=CHAT_BODY, response_model=None)
    async def chat_completions(request: Request) -> dict[str, Any] | StreamingResponse:
        body = await read_body(request, limit, body_seconds)
        return await answer_or_stream(service.chat, body, dict(request.headers), jobs)

    @app.get("/v1/payments/{payment_id}")
    async def payment(payment_id: Uint256Path) -> dict[str, Any]:
        return await off_loop(service.payment, _uint256(payment_id, "the payment id"))

    @app.get("/v1/receipts/{payment_id}/{index}")
    async def receipt(payment_id: Uint256Path, index: Uint256Path, request: Request) -> dict[str, Any]:
        found = (_uint256(payment_id, "the payment id"), _uint256(index, "the request index"))
        return await off_loop(service.receipt, *found, dict(request.headers))

    return app
