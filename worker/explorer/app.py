"""The explorer's HTTP app: a JSON read API over the index under /api (OpenAPI at /api/openapi.json), the
wallet-action endpoints that return what the page's wallet signs, and the pages themselves.

Errors follow the project's mapping (worker/serve/app.py): {"error": {"message", "type", "code"}}; bad
input is 4xx (unknown id or content 404, invalid file, CID or argument 422, an action the chain would
refuse 409 with the decoded revert, a body too large 413 or too slow 408, too many requests 429), a
dependency down (RPC, content store, inference server, a locked index) 503 with Retry-After. Request
limits: guard.py.
"""

from __future__ import annotations

import asyncio
import logging
import pathlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

from eth_abi.exceptions import DecodingError
from fastapi import Body, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from worker.billing.authorization import INDEX_HEADER, PAYMENT_HEADER, SIGNATURE_HEADER
from worker.chain.reverts import TransactionReverted
from worker.database import DatabaseUnavailable
from worker.datanet.contributing import InvalidContributionError
from worker.errors import ChainError, DataError
from worker.explorer import actions, queries
from worker.explorer.forwarding import relay
from worker.explorer.guard import RequestGuard
from worker.explorer.reverts import explain_revert, explain_revert_data
from worker.explorer.service import ExplorerService
from worker.rewards import RewardsError
from worker.serve.app import error_response, install_error_handlers, off_loop
from worker.serve.errors import DependencyUnavailable, InvalidRequest
from worker.storage.errors import CidMismatchError, ContentNotFoundError, InvalidCidError

log = logging.getLogger("openledger.explorer")
T = TypeVar("T")
STATIC = pathlib.Path(__file__).resolve().parent / "static"

Limit = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, lt=2**63)]  # OFFSET is a signed 64-bit integer (SQLite, PostgreSQL)
Id = Annotated[int, Field(ge=0, lt=2**63)]
# Ids in paths: the index's integers are 64-bit signed, so anything larger is refused (422), not a 500.
PathId = Annotated[int, Path(ge=0, lt=2**63)]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
Label = Annotated[str, Field(min_length=1, max_length=100)]


class Account(BaseModel):
    account: Address


class DatanetBody(Account):
    name: str = Field(min_length=1, max_length=200)
    task: str = Field(max_length=50)
    labels: list[Label] = Field([], max_length=1_000)
    licence: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=10_000)
    stake: str = Field(pattern=r"^[0-9]{1,40}$", description="wei of OPEN per contribution")
    review_period: int = Field(ge=0, lt=2**64)
    slash_bps: int = Field(ge=0, le=10_000)
    curators: list[Address] = Field([], max_length=100)
    treasury: Address | None = None


class ContributeBody(Account):
    cid: str = Field(min_length=1, max_length=200)


class ReviewBody(Account):
    accept: bool
    reason: str = Field("", max_length=4_000)


class PayBody(Account):
    requests: int = Field(ge=1, le=1_000)


class TypedDataBody(BaseModel):
    payment_id: Id
    index: Id
    body: str = Field(max_length=64_000)


class RevertBody(BaseModel):
    data: str = Field(pattern=r"^0x[0-9a-fA-F]*$", max_length=20_000)
    contract: str | None = None


class ReceiptBody(BaseModel):
    tx_hash: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")


def _page(limit: int, offset: int) -> queries.Page:
    return queries.Page(limit, offset)


async def _work(fn: Callable[..., T], *args: Any) -> T:
    """`off_loop`, with an index that cannot answer now (a SQLite file locked by another process, a
    PostgreSQL server down or restarting) a 503, not a 500."""

    def guarded() -> T:
        try:
            return fn(*args)
        except DatabaseUnavailable as exc:
            raise DependencyUnavailable(
                f"the explorer's index is busy or unreachable ({exc}): retry in a moment"
            ) from exc

    return cast(T, await off_loop(guarded))  # type: ignore[arg-type]


# Errors the SDK raises on purpose, as the explorer answers them (the most specific class wins): bad
# input is 4xx, an action the chain would refuse is 409; an unreachable node stays serve's 503.
_MAPPED_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (InvalidCidError, 422, "invalid_cid"),
    (CidMismatchError, 422, "invalid_cid"),
    (ContentNotFoundError, 404, "content_not_found"),
    (DataError, 422, "invalid_input"),
    (RewardsError, 409, "refused"),
    (ChainError, 409, "refused"),  # the SDK's checks say why; an unreachable node is a web3 error
)


def _mapped(status: int, code: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(status, code, str(exc))

    return handler


def _install_explorer_errors(app: FastAPI) -> None:
    install_error_handlers(app)
    for error, status, code in _MAPPED_ERRORS:
        app.add_exception_handler(error, _mapped(status, code))

    @app.exception_handler(InvalidContributionError)
    async def invalid_file(_request: Request, exc: InvalidContributionError) -> JSONResponse:
        report = exc.report
        lines = [{"line": e.line, "code": e.code, "message": e.message} for e in report.errors]
        body = {"message": str(exc), "type": "invalid_file", "code": "invalid_file", "lines": lines}
        return JSONResponse({"error": body}, status_code=422)

    @app.exception_handler(TransactionReverted)
    async def would_revert(_request: Request, exc: TransactionReverted) -> JSONResponse:
        return error_response(409, "would_revert", explain_revert(exc))


def create_explorer_app(service: ExplorerService) -> FastAPI:
    app = FastAPI(
        title="OpenLedger explorer",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.add_middleware(RequestGuard, limits=service.limits)
    _install_explorer_errors(app)
    _read_routes(app, service)
    _action_routes(app, service)
    _page_routes(app, service)
    return app


def _read_routes(app: FastAPI, service: ExplorerService) -> None:
    db = service.db

    async def read(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        return await _work(fn, db, *args)

    @app.get("/api/status", tags=["read"])
    async def status() -> dict[str, Any]:
        return await _work(service.status)

    @app.get("/api/datanets", tags=["read"])
    async def datanets(limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        return await read(queries.datanets, _page(limit, offset))

    @app.get("/api/datanets/{datanet_id}", tags=["read"])
    async def datanet(datanet_id: PathId) -> dict[str, Any]:
        return await read(queries.datanet, datanet_id)

    @app.get("/api/datanets/{datanet_id}/contributions", tags=["read"])
    async def datanet_contributions(
        datanet_id: PathId, status: str | None = None, limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        return await read(queries.contributions, _page(limit, offset), datanet_id, None, status)

    @app.get("/api/datanets/{datanet_id}/versions/{version_id}", tags=["read"])
    async def version(datanet_id: PathId, version_id: PathId) -> dict[str, Any]:
        return await read(queries.version, datanet_id, version_id)

    @app.get("/api/datanets/{datanet_id}/versions/{version_id}/contributions", tags=["read"])
    async def version_contributions(
        datanet_id: PathId, version_id: PathId, limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        return await read(queries.version_entries, datanet_id, version_id, _page(limit, offset))

    @app.get("/api/contributions/{contribution_id}", tags=["read"])
    async def contribution(contribution_id: PathId) -> dict[str, Any]:
        return await read(queries.contribution, contribution_id)

    @app.get("/api/models", tags=["read"])
    async def models(limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        return await read(queries.models, _page(limit, offset))

    @app.get("/api/models/{model_id}", tags=["read"])
    async def model(model_id: PathId) -> dict[str, Any]:
        return await read(queries.model, model_id)

    @app.get("/api/models/{model_id}/attribution", tags=["read"])
    async def attribution(
        model_id: PathId,
        party: Annotated[str, Query(pattern="^(contributor|contribution)$")] = "contributor",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        return await read(queries.attribution, model_id, party, _page(limit, offset))

    @app.get("/api/epochs", tags=["read"])
    async def epochs(
        model: Annotated[int | None, Query(ge=0, lt=2**63)] = None, limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        return await read(queries.epochs, _page(limit, offset), model)

    @app.get("/api/epochs/{model_id}/{epoch}", tags=["read"])
    async def epoch(model_id: PathId, epoch: PathId) -> dict[str, Any]:
        return await read(queries.epoch, model_id, epoch)

    @app.get("/api/workers", tags=["read"])
    async def workers(limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        return await read(queries.workers, _page(limit, offset))

    @app.get("/api/accounts/{address}", tags=["read"])
    async def account(address: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]) -> dict[str, Any]:
        return await _work(service.account, address)


def _action_routes(app: FastAPI, service: ExplorerService) -> None:
    store = service.store

    def plan(fn: Callable[..., actions.WalletPlan], account: str, *args: Any) -> dict[str, Any]:
        return fn(actions.as_account(service.client, account), *args).to_dict()

    @app.post("/api/actions/create-datanet", tags=["wallet"])
    async def create_datanet(body: DatanetBody) -> dict[str, Any]:
        form = actions.DatanetForm(
            body.name, body.task, body.labels, body.licence, body.description, int(body.stake),
            body.review_period, body.slash_bps, body.curators, body.treasury,
        )  # fmt: skip
        return await _work(plan, actions.create_datanet, body.account, store, form)

    @app.post("/api/datanets/{datanet_id}/validate", tags=["wallet"])
    async def validate(
        datanet_id: PathId,
        request: Request,
        account: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    ) -> dict[str, Any]:
        data = await request.body()  # counted and capped by the guard (413) before it got here
        client = actions.as_account(service.client, account) if account else service.client
        return await _work(actions.validate_file, client, store, datanet_id, data, service.dedup)

    @app.post("/api/datanets/{datanet_id}/upload", tags=["wallet"])
    async def upload(datanet_id: PathId, request: Request) -> dict[str, Any]:
        data = await request.body()
        return await _work(actions.upload_file, service.client, store, datanet_id, data)

    @app.post("/api/actions/contribute/{datanet_id}", tags=["wallet"])
    async def contribute(datanet_id: PathId, body: ContributeBody) -> dict[str, Any]:
        named = service.request_store or store  # the CID is the request's: a short timeout
        return await _work(plan, actions.contribute, body.account, named, datanet_id, body.cid)

    @app.post("/api/actions/review/{contribution_id}", tags=["wallet"])
    async def review(contribution_id: PathId, body: ReviewBody) -> dict[str, Any]:
        return await _work(
            plan, actions.review, body.account, store, contribution_id, body.accept, body.reason
        )

    @app.post("/api/actions/publish/{datanet_id}", tags=["wallet"])
    async def publish(datanet_id: PathId, body: Account) -> dict[str, Any]:
        return await _work(plan, actions.publish, body.account, store, datanet_id)

    @app.post("/api/actions/pay/{model_id}", tags=["wallet"])
    async def pay(model_id: PathId, body: PayBody) -> dict[str, Any]:
        return await _work(plan, actions.pay, body.account, model_id, body.requests)

    @app.post("/api/actions/claim/{model_id}/{epoch}", tags=["wallet"])
    async def claim(model_id: PathId, epoch: PathId, body: Account) -> dict[str, Any]:
        return await _work(plan, actions.claim, body.account, store, model_id, epoch)

    @app.post("/api/actions/withdraw", tags=["wallet"])
    async def withdraw(body: Account) -> dict[str, Any]:
        return await _work(plan, actions.withdraw, body.account)

    @app.post("/api/models/{model_id}/typed-data", tags=["wallet"])
    async def typed_data(model_id: PathId, body: TypedDataBody) -> dict[str, Any]:
        raw = body.body.encode()
        return await _work(
            actions.request_typed_data, service.client, model_id, body.payment_id, body.index, raw
        )

    @app.post("/api/models/{model_id}/ask", tags=["wallet"])
    async def ask(model_id: PathId, request: Request) -> Response:
        return await _ask(service, model_id, request)

    @app.post("/api/revert", tags=["wallet"])
    async def revert(body: Annotated[RevertBody, Body()]) -> dict[str, Any]:
        def explained() -> dict[str, Any]:
            try:
                return {"message": explain_revert_data(service.client, body.data, body.contract)}
            except (DecodingError, ValueError, TypeError, OverflowError) as exc:
                raise InvalidRequest(
                    f"the revert data does not decode as its error's arguments ({type(exc).__name__}: {exc})"
                ) from exc

        return await _work(explained)

    @app.post("/api/receipt", tags=["wallet"])
    async def receipt(body: ReceiptBody) -> dict[str, Any]:
        return await _work(service.receipt, body.tx_hash)


async def _ask(service: ExplorerService, model_id: int, request: Request) -> Response:
    """Relay a paid, signed request to the model's inference server (same bytes, same headers); where it
    may go and how much of the answer comes back: forwarding.py."""
    body = await request.body()  # capped by the guard
    destination = await _work(service.inference_destination, model_id)
    task = request.query_params.get("task", "classification")
    path = "/v1/completions" if task == "generation" else f"/v1/models/{model_id}/predict"
    headers = {h: request.headers.get(h, "") for h in (PAYMENT_HEADER, INDEX_HEADER, SIGNATURE_HEADER)}
    headers["content-type"] = "application/json"
    limits = service.limits
    try:
        status, answer = await asyncio.wait_for(
            relay(destination, path, body, headers, limits.answer_bytes, limits.answer_seconds),
            timeout=limits.answer_seconds,
        )
    except TimeoutError:
        raise DependencyUnavailable(
            f"the inference server at {destination.shown} did not answer within {limits.answer_seconds:g} s"
        ) from None
    return Response(answer, status_code=status, media_type="application/json")


def _page_routes(app: FastAPI, service: ExplorerService) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/vendor/ethers.js", include_in_schema=False)
    async def ethers() -> Response:
        path = service.ethers_path()
        if path is None:
            return error_response(
                503, "backend_unavailable", "ethers is not installed: run `make setup` (npm ci) first"
            )
        return FileResponse(path, media_type="text/javascript")


def mount_explorer(parent: FastAPI, service: ExplorerService, prefix: str = "/explorer") -> None:
    """Serve the explorer under `prefix` of another app (`openledger serve`); its pages use relative
    URLs, so they work under any prefix."""
    parent.mount(prefix, create_explorer_app(service))

    @parent.get(prefix, include_in_schema=False)
    async def to_slash() -> RedirectResponse:
        return RedirectResponse(prefix + "/")
