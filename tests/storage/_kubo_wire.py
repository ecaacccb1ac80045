"""An in-process HTTP server that speaks Kubo's RPC wire format, for testing KuboClient without a Kubo.

What it reproduces (Kubo 0.2x behaviour): POST only (other methods get 405); arguments in the query
string; `add` reads a multipart body (chunked or sized) and answers NDJSON `{"Name","Hash","Size"}` lines
with chunked transfer encoding; `cat` streams the bytes; errors are HTTP 500 with
`{"Message","Code":0,"Type":"error"}`; unknown commands get 404 "404 page not found".
CIDs are computed with aleph-cid directly (not through worker.storage), honouring cid-version/raw-leaves.
Knobs let a test make it lie (wrong CID on add, altered bytes on cat) or stall (delay).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import aleph_cid


@dataclass
class KuboState:
    blocks: dict[str, bytes] = field(default_factory=dict)
    pins: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    lie_on_add: bool = False
    corrupt_cat: bool = False
    delay_s: float = 0.0


def kubo_cid(data: bytes, cid_version: int, raw_leaves: bool) -> str:
    if cid_version == 1 and raw_leaves:
        hasher = aleph_cid.CidHasher.for_ipfs_v1_raw_leaves()
    elif cid_version == 0 and not raw_leaves:
        hasher = aleph_cid.CidHasher.for_ipfs()
    else:
        raise ValueError("profile not supported by the fake node")
    hasher.update(data)
    return hasher.finalize()


def _parse_multipart(body: bytes, content_type: str) -> tuple[str, bytes]:
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    for part in body.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        head, _, content = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            name = head.split(b'filename="', 1)[1].split(b'"', 1)[0].decode() if b"filename=" in head else ""
            return name, content.removesuffix(b"\r\n")
    raise ValueError("no file part in the multipart body")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._plain(405, b"405 - Method Not Allowed")

    def do_POST(self) -> None:  # noqa: N802
        state = self.server.state
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            body = self._read_body()
        except (ConnectionError, ValueError):  # the client gave up mid-upload, as Kubo sees it too
            self.close_connection = True
            return
        state.requests.append(("POST", url.path, params, dict(self.headers)))
        if state.delay_s:
            time.sleep(state.delay_s)
        handler = _COMMANDS.get(url.path)
        if handler is None:
            self._plain(404, b"404 page not found")
            return
        try:
            handler(self, state, params, body)
        except KeyError as exc:
            self._error(f"{exc.args[0]}: not found")
        except ValueError as exc:
            self._error(str(exc))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline()
                if not line:
                    raise ConnectionAbortedError("request body cut off")
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _plain(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: object) -> None:
        body = json.dumps(value).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, message: str, status: int = 500) -> None:
        body = json.dumps({"Message": message, "Code": 0, "Type": "error"}).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, content_type: str, pieces: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Chunked-Output", "1")
        self.end_headers()
        for piece in pieces:
            if piece:
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


def _add(h: _Handler, state: KuboState, params: dict[str, str], body: bytes) -> None:
    if params.get("chunker", "size-262144") != "size-262144":
        raise ValueError(f"unrecognized chunker option: {params['chunker']}")
    name, data = _parse_multipart(body, h.headers["Content-Type"])
    version = int(params.get("cid-version", "0"))
    raw = params.get("raw-leaves", "true" if version == 1 else "false") == "true"
    cid = kubo_cid(data, version, raw)
    state.blocks[cid] = data
    if params.get("pin", "true") == "true":
        state.pins.add(cid)
    shown = kubo_cid(data + b"!", version, raw) if state.lie_on_add else cid
    line = json.dumps({"Name": name, "Hash": shown, "Size": str(len(data) + 14)}).encode() + b"\n"
    h._stream("application/json", [line])


def _cat(h: _Handler, state: KuboState, params: dict[str, str], body: bytes) -> None:
    cid = params["arg"]
    if cid not in state.blocks:
        raise ValueError(f"block was not found locally (offline): ipld: could not find {cid}")
    data = state.blocks[cid]
    if state.corrupt_cat and data:
        data = bytes([data[0] ^ 1]) + data[1:]
    h._stream("text/plain", [data[i:i + 65536] for i in range(0, len(data), 65536)])


def _block_stat(h: _Handler, state: KuboState, params: dict[str, str], body: bytes) -> None:
    cid = params["arg"]
    if cid not in state.blocks:
        raise ValueError(f"block was not found locally (offline): ipld: could not find {cid}")
    h._json({"Key": cid, "Size": len(state.blocks[cid])})


def _pin_add(h: _Handler, state: KuboState, params: dict[str, str], body: bytes) -> None:
    cid = params["arg"]
    if cid not in state.blocks:
        raise ValueError(f"pin: block was not found locally (offline): ipld: could not find {cid}")
    state.pins.add(cid)
    h._json({"Pins": [cid]})


def _pin_rm(h: _Handler, state: KuboState, params: dict[str, str], body: bytes) -> None:
    cid = params["arg"]
    if cid not in state.pins:
        raise ValueError("not pinned or pinned indirectly")
    state.pins.discard(cid)
    h._json({"Pins": [cid]})


def _pin_ls(h: _Handler, state: KuboState, params: dict[str, str], body: bytes) -> None:
    h._json({"Keys": {cid: {"Type": "recursive"} for cid in sorted(state.pins)}})


def _version(h: _Handler, state: KuboState, params: dict[str, str], body: bytes) -> None:
    h._json({"Version": "0.29.0", "Commit": "", "Repo": "15", "System": "amd64/linux", "Golang": "go1.22"})


_COMMANDS = {
    "/api/v0/add": _add, "/api/v0/cat": _cat, "/api/v0/block/stat": _block_stat,
    "/api/v0/pin/add": _pin_add, "/api/v0/pin/rm": _pin_rm, "/api/v0/pin/ls": _pin_ls,
    "/api/v0/version": _version,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: KuboState


class FakeKubo:
    """`with FakeKubo() as node: KuboClient(node.url)`; `node.state` shows and steers what it does."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = KuboState()
        self.state = self._server.state
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> FakeKubo:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
