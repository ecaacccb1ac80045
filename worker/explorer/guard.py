"""What one visitor may ask of the explorer: an ASGI middleware in front of every route (also when the
explorer is mounted inside `openledger serve`, whose own limits do not reach a mounted app).

- every /api request spends a token of its client address (an IPv4 address, an IPv6 /64): 429;
- a request body is counted as it streams, by worker/serve/app.py's own `_body` (Content-Length or not):
  more than `json_bytes` (`upload_bytes` for a file) is 413, a body not all there within `body_seconds`
  is 408; nothing is read into memory past the limit;
- requests that add to content storage (a file upload, a Datanet's metadata, a review's reason) and file
  validations also spend a token of a slower bucket, and what they store spends a per-address byte
  quota (`stored_bytes`): anyone may use the store, nobody may fill it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.billing.errors import RateLimited
from worker.billing.limits import RateLimit, RateLimiter
from worker.data.schema import RecordLimits
from worker.serve.app import client_key, error_response, read_body, too_many
from worker.serve.errors import ServeError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ExplorerLimits:
    json_bytes: int = 64 * 1024  # a JSON request body
    upload_bytes: int = RecordLimits().max_file_bytes  # a file to validate or upload (a Datanet's default)
    body_seconds: float = 30.0  # a body must arrive whole within this
    requests: RateLimit = RateLimit(rate=20.0, burst=200)  # /api requests per client address
    writes: RateLimit = RateLimit(rate=0.5, burst=30)  # uploads, validations, metadata and reasons
    stored_bytes: RateLimit = field(  # bytes added to content storage per client address: 64 MiB an hour
        default_factory=lambda: RateLimit(rate=64 * MIB / 3600, burst=64 * MIB)
    )
    answer_bytes: int = MIB  # an inference server's answer relayed by /ask
    answer_seconds: float = 60.0


_FILE = re.compile(r"^/api/datanets/[0-9]+/(upload|validate)$")
_STORES = re.compile(r"^/api/(datanets/[0-9]+/upload|actions/create-datanet|actions/review/[0-9]+)$")


class RequestGuard:
    def __init__(self, app: ASGIApp, limits: ExplorerLimits):
        self.app, self.limits = app, limits
        self.per_ip = RateLimiter(limits.requests, "client address")
        self.writes = RateLimiter(limits.writes, "client address (uploads)")
        self.stored = RateLimiter(limits.stored_bytes, "client address", unit="bytes stored")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        client = scope.get("client")
        key = client_key(client[0] if client else "unknown")
        writes = bool(_FILE.match(path) or _STORES.match(path))
        try:
            if path.startswith("/api/"):
                self.per_ip.take(key)
            if scope["method"] not in ("POST", "PUT", "PATCH"):
                await self.app(scope, receive, send)
                return
            if writes:
                self.writes.take(key)
            limit = self.limits.upload_bytes if _FILE.match(path) else self.limits.json_bytes
            body = await read_body(Request(scope, receive), limit, self.limits.body_seconds)
            if _STORES.match(path):
                self.stored.take(key, len(body))
        except RateLimited as exc:
            await too_many(exc)(scope, receive, send)
            return
        except ServeError as exc:  # 413, 408, or a Content-Length that is not a number (422)
            await error_response(exc.status, exc.code, str(exc))(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _route_path(scope: Scope) -> str:
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, as the app's first (and only) request message."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = dict(await receive())
        return message

    return replay
