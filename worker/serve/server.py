"""Running the API with uvicorn: in the foreground (`openledger serve`) or in a background thread on
loopback (the demo, tests, benchmarks)."""

from __future__ import annotations

import signal
import threading
import time

import uvicorn
from fastapi import FastAPI

from worker.chain.anvil import free_port
from worker.serve.errors import ServeError


class ServerThread:
    """uvicorn in a daemon thread; `url` once `start()` returns, `stop()` shuts it down gracefully."""

    def __init__(
        self, app: FastAPI, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning"
    ):
        self.host, self.port = host, port or free_port(host)
        config = uvicorn.Config(
            app, host=self.host, port=self.port, log_level=log_level, access_log=False, ws="none"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="inference-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ServeError(f"the inference server did not start on {self.url}", code="server_failed")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(app: FastAPI, host: str, port: int, log_level: str = "info") -> None:
    """Serve until SIGINT or SIGTERM, then return (SIGTERM as SystemExit(0)), so the caller's cleanup
    runs either way."""
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the handler it found:
    # the default one would end the process there, before the caller gives up its epoch-service lease
    # (a replica stopped by systemd or docker would hold it until it ran out).
    main = threading.current_thread() is threading.main_thread()
    if main:
        signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, ws="none")
    finally:
        if main:  # a second SIGTERM must not cut the caller's cleanup (the lease release) short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
