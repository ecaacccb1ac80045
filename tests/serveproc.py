"""`openledger serve` as a real process for the tests that need one (kill -9, replicas on one database):
started on a free port with a live model's CLI environment, its output in a file (a pipe nobody reads
would block a chatty server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from paidmodel import WORKER, LiveModel, cli_env

from worker.chain.anvil import free_port

STARTUP_S = 120.0


class ServeProcess:
    def __init__(self, live: LiveModel, logs: Path, *args: str, **env: str):
        self.port = free_port()
        self.log_path = logs / f"serve-{self.port}.log"
        command = [sys.executable, "-c", "from worker.cli import app; app()", "serve"]
        command += ["--port", str(self.port), "--dev-account", str(WORKER), *args]
        full_env = {**os.environ, **cli_env(live), **env}
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, timeout: float = STARTUP_S) -> ServeProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"openledger serve exited {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError(f"openledger serve did not come up in {timeout:.0f} s:\n{self.output()}")

    def wait_exit(self, timeout: float = 60.0) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> str:
        """Terminate (a clean shutdown) if still running; the output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()
