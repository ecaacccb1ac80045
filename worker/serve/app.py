"""The HTTP API (FastAPI): live models, paid predictions and OpenAI-compatible completions with receipts.

    GET  /v1/models                       live models with prices (and which ones this server answers)
    POST /v1/models/{id}/predict          {"text": ...} -> {"output": {label, probabilities}, "receipt"}
    POST /v1/completions                  OpenAI body {"model": "<id>", "prompt", "max_tokens"} + "receipt"
    GET  /v1/payments/{id}                a payment's request units and which are used
    GET  /v1/receipts/{payment}/{index}   a stored receipt (e.g. for a client that lost its answer)
Paid requests carry the payer's authorization headers (worker.billing.authorization). Errors are
{"error": {"message", "type", "code"}} with 402 for payment problems, 404/409/503 for models, 413 for
oversized input, 422 for malformed requests. Model work runs in a thread pool, off the event loop.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from worker.billing.errors import PaymentRequired
from worker.errors import OpenLedgerError
from worker.serve.errors import RequestTooLarge, ServeError
from worker.serve.service import InferenceService


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": code, "code": code}}, status_code=status)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"the request body is {declared} bytes; this server accepts at most {limit}")
    return await request.body()


def create_app(service: InferenceService) -> FastAPI:
    app = FastAPI(title="OpenLedger inference", version="1")
    limit = service.config.max_body_bytes

    @app.exception_handler(ServeError)
    async def serve_error(_request: Request, exc: ServeError) -> JSONResponse:
        return _error(exc.status, exc.code, str(exc))

    @app.exception_handler(PaymentRequired)
    async def payment_required(_request: Request, exc: PaymentRequired) -> JSONResponse:
        return _error(402, exc.code, str(exc))

    @app.exception_handler(OpenLedgerError)
    async def backend_error(_request: Request, exc: OpenLedgerError) -> JSONResponse:
        return _error(503, "backend_unavailable", f"{type(exc).__name__}: {exc}")

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _error(422, "invalid_request", problems)

    @app.get("/v1/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "worker": service.client.address}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return await run_in_threadpool(service.models)

    @app.post("/v1/models/{model_id}/predict")
    async def predict(model_id: int, request: Request) -> dict[str, Any]:
        body = await _body(request, limit)
        return await run_in_threadpool(service.predict, model_id, body, dict(request.headers))

    @app.post("/v1/completions")
    async def completions(request: Request) -> dict[str, Any]:
        body = await _body(request, limit)
        return await run_in_threadpool(service.complete, body, dict(request.headers))

    @app.get("/v1/payments/{payment_id}")
    async def payment(payment_id: int) -> dict[str, Any]:
        return await run_in_threadpool(service.payment, payment_id)

    @app.get("/v1/receipts/{payment_id}/{index}")
    async def receipt(payment_id: int, index: int) -> dict[str, Any]:
        return await run_in_threadpool(service.receipt, payment_id, index)

    return app
