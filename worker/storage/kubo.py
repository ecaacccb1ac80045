"""A client for a Kubo (go-ipfs) node's RPC API, used when IPFS_API is set.

Wire facts it relies on (Kubo RPC): every `/api/v0/*` call is a POST with arguments in the query string;
`add` takes a multipart body and answers newline-delimited JSON objects `{"Name","Hash","Size"}`; errors
are HTTP 500 (400 for bad arguments) with `{"Message","Code","Type":"error"}`. A stream that fails after
it started is only signalled in an HTTP trailer, which is why callers read through `verified_fetch`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from worker.errors import StorageError
from worker.storage.cid import PROJECT_PROFILE, CidBuilder, CidProfile, parse_cid
from worker.storage.errors import CidMismatchError, ContentNotFoundError
from worker.storage.sources import Source, iter_source, source_name

DEFAULT_TIMEOUT_S = 120.0
_MULTIADDR = re.compile(r"^/(ip4|ip6|dns|dns4|dns6)/([^/]+)/tcp/(\d+)(/https?)?/?$")
_NOT_FOUND = ("not found", "could not find", "no link named", "merkledag: not found")


def api_base_url(api: str) -> str:
    """`http://host:5001`, `host:5001` or a multiaddr `/ip4/127.0.0.1/tcp/5001` -> `.../api/v0`."""
    match = _MULTIADDR.match(api.strip())
    if match:
        kind, host, port, scheme = match.groups()
        host = f"[{host}]" if kind == "ip6" else host
        api = f"{(scheme or '/http')[1:]}://{host}:{port}"
    elif "://" not in api:
        api = f"http://{api}"
    api = api.rstrip("/")
    return api if api.endswith("/api/v0") else f"{api}/api/v0"


class _HashingReader:
    """A file-like view of the upload that computes our CID of exactly the bytes sent to the node."""

    def __init__(self, chunks: Iterator[bytes], builder: CidBuilder) -> None:
        self._chunks = chunks
        self._builder = builder
        self._chunk = b""
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (fewer is fine: httpx reads until b""); slices, never re-buffers."""
        while self._pos >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._builder.update(chunk)
            self._chunk, self._pos = chunk, 0
        end = len(self._chunk) if size < 0 else self._pos + size
        out = self._chunk[self._pos:end]
        self._pos += len(out)
        return out


class KuboClient:
    """ContentStore over a Kubo node; `add` checks that the node's CID equals the one we compute."""

    def __init__(self, api: str, profile: CidProfile = PROJECT_PROFILE, timeout_s: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = api_base_url(api)
        self.profile = profile
        self.timeout_s = timeout_s
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s), transport=transport)

    @property
    def location(self) -> str:
        return f"IPFS node at {self.base_url}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KuboClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------------

    def _send(self, command: str, params: dict[str, str] | None = None, *, stream: bool = False,
              files: Any = None) -> httpx.Response:
        url = f"{self.base_url}/{command}"
        try:
            request = self._http.build_request("POST", url, params=params, files=files)
            response = self._http.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise StorageError(f"the {self.location} did not answer {command} within {self.timeout_s:g}s; "
                               "check the node is healthy, or raise the timeout") from exc
        except httpx.TransportError as exc:
            raise StorageError(
                f"cannot reach the {self.location} ({type(exc).__name__}: {exc}); start it (`ipfs daemon`), "
                "fix IPFS_API, or unset IPFS_API to use the embedded store"
            ) from exc
        if response.status_code >= 400:
            self._raise_http_error(command, params, response)
        return response

    def _raise_http_error(self, command: str, params: dict[str, str] | None,
                          response: httpx.Response) -> None:
        body = response.read()
        response.close()
        try:
            message = str(json.loads(body).get("Message", "")) or body.decode(errors="replace")
        except (ValueError, AttributeError):
            message = body.decode(errors="replace").strip()
        arg = (params or {}).get("arg", "")
        if arg and any(marker in message.lower() for marker in _NOT_FOUND):
            raise ContentNotFoundError(arg, self.location, message)
        raise StorageError(f"the {self.location} answered HTTP {response.status_code} to {command}: "
                           f"{message or '(no message)'}")

    def _json(self, command: str, params: dict[str, str] | None = None) -> Any:
        response = self._send(command, params)
        try:
            return response.json()
        except ValueError as exc:
            snippet = response.text[:200]
            raise StorageError(f"the {self.location} sent invalid JSON for {command}: {snippet!r}") from exc

    # -- ContentStore ------------------------------------------------------------------------------------

    def add(self, source: Source, *, pin: bool = True) -> str:
        builder = CidBuilder(self.profile)
        reader = _HashingReader(iter_source(source), builder)
        params = {**self.profile.kubo_add_params(), "pin": "true" if pin else "false", "progress": "false"}
        # Kubo URL-unescapes part file names (as its own clients escape them); the name never changes the CID.
        files = {"file": (quote(source_name(source), safe=""), reader, "application/octet-stream")}
        response = self._send("add", params, files=files)
        node_cid = _last_added_hash(response.text, self.location)
        ours = builder.finalize()
        if node_cid != ours:
            raise CidMismatchError(ours, node_cid, f"{self.location} (add)",
                                   "the node imported the file with other settings than the CID profile "
                                   f"{self.profile.to_metadata()}; check its Import config")
        return ours

    def cat_iter(self, cid: str) -> Iterator[bytes]:
        parse_cid(cid)
        response = self._send("cat", {"arg": cid}, stream=True)  # raises now, not at first next()
        return self._body_chunks(response)

    def _body_chunks(self, response: httpx.Response) -> Iterator[bytes]:
        try:
            yield from response.iter_bytes()
        except httpx.TimeoutException as exc:
            raise StorageError(f"the {self.location} stopped sending within {self.timeout_s:g}s") from exc
        except httpx.TransportError as exc:
            raise StorageError(f"the {self.location} broke off a download: {exc}") from exc
        finally:
            response.close()

    def cat(self, cid: str) -> bytes:
        return b"".join(self.cat_iter(cid))

    def has(self, cid: str) -> bool:
        """Whether the node holds the root block locally (offline: never waits for the network)."""
        parse_cid(cid)
        try:
            self._json("block/stat", {"arg": cid, "offline": "true"})
        except ContentNotFoundError:
            return False
        return True

    def pin(self, cid: str) -> None:
        parse_cid(cid)
        self._json("pin/add", {"arg": cid, "recursive": "true", "progress": "false"})

    def unpin(self, cid: str) -> None:
        parse_cid(cid)
        try:
            self._json("pin/rm", {"arg": cid, "recursive": "true"})
        except StorageError as exc:
            if "not pinned" not in str(exc):
                raise

    def pins(self) -> list[str]:
        answer = self._json("pin/ls", {"type": "recursive"})
        return sorted((answer or {}).get("Keys", {}) or {})

    def version(self) -> str:
        return str(self._json("version").get("Version", ""))


def _last_added_hash(body: str, location: str) -> str:
    """The CID of the added file: the last NDJSON line with a Hash (progress lines have none)."""
    found = ""
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise StorageError(f"the {location} sent a malformed add answer line: {line[:200]!r}") from exc
        if entry.get("Type") == "error":
            raise StorageError(f"the {location} failed to add the file: {entry.get('Message')}")
        found = entry.get("Hash") or found
    if not found:
        raise StorageError(f"the {location} answered add without a CID: {body[:200]!r}")
    return found
