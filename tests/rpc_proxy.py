"""A JSON-RPC pass-through whose socket can be taken down and brought back on the same port: an RPC
endpoint that goes away (connection refused) and returns, for the worker's outage tests; with `delay`,
a slow one (every call answered that many seconds late)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from worker.chain.anvil import free_port


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # http.server's 5 refuses a burst of replicas' calls: an outage not meant


class RpcProxy:
    def __init__(self, upstream: str, delay: float = 0.0):
        self.upstream, self.port, self.delay = upstream, free_port(), delay
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        upstream, delay = self.upstream, self.delay

        class Forward(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                reply = requests.post(
                    upstream, data=body, headers={"Content-Type": "application/json"}, timeout=30
                )
                self.send_response(reply.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            def log_message(self, *args: object) -> None:
                pass

        return Forward

    def up(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> RpcProxy:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()
