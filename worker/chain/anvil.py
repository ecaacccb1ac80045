"""A local Anvil node: start it on a free port, wait until it answers, stop it.

Used by `openledger node` (foreground) and by the integration tests (one per session). Anvil derives its
accounts from the well-known Foundry test mnemonic, so account N has the same address on every run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from worker.config import project_root
from worker.errors import ChainError

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
DEFAULT_CHAIN_ID = 31337
NPM_ANVIL = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")


def find_anvil() -> Path:
    """The anvil binary: the npm one under node_modules first, then `anvil` on PATH."""
    local = project_root() / NPM_ANVIL
    if local.is_file():
        return local
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ChainError("anvil not found: run `make setup` (installs @foundry-rs/anvil) or put anvil on PATH")


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on (host, port). SO_REUSEADDR as Anvil binds: a port whose last
    connections linger in TIME_WAIT is free, one with a listener is not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _die_with_parent() -> Callable[[], None]:
    """A preexec_fn (Linux) asking for SIGTERM when the parent dies, even by `kill -9`, so a killed
    `openledger node` leaves no Anvil behind. libc is resolved here, before the fork: the child runs only
    the system call (nothing that takes a lock), then ends itself if the parent died before it asked.
    Linux sends the signal when the thread that started the child ends: start it from the main thread."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent, pr_set_pdeathsig = os.getpid(), 1

    def in_child() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class AnvilConfig:
    host: str = "127.0.0.1"
    port: int | None = None  # None: a free port
    chain_id: int = DEFAULT_CHAIN_ID
    accounts: int = 20
    balance_eth: int = 10_000
    mnemonic: str = DEFAULT_MNEMONIC
    block_time: int | None = None  # None: automine (one block per transaction)
    gas_limit: int | None = None
    extra_args: tuple[str, ...] = field(default=())
    die_with_parent: bool = False  # Linux: Anvil ends with the process that started it, however it ends


class Anvil:
    """A running Anvil process; use as a context manager or call `start()`/`stop()`."""

    def __init__(self, config: AnvilConfig | None = None, binary: Path | None = None):
        self.config = config or AnvilConfig()
        self.binary = binary or find_anvil()
        self.port = self.config.port or free_port(self.config.host)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def command(self) -> list[str]:
        cfg = self.config
        cmd = [
            str(self.binary),
            "--host",
            cfg.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(cfg.chain_id),
            "--accounts",
            str(cfg.accounts),
            "--balance",
            str(cfg.balance_eth),
            "--mnemonic",
            cfg.mnemonic,
        ]
        if cfg.block_time is not None:
            cmd += ["--block-time", str(cfg.block_time)]
        if cfg.gas_limit is not None:
            cmd += ["--gas-limit", str(cfg.gas_limit)]
        return cmd + list(cfg.extra_args)

    def start(self, timeout: float = 30.0, quiet: bool = True) -> Anvil:
        if self._proc is not None:
            return self
        if port_in_use(self.config.host, self.port):
            # Started anyway, Anvil would exit on the busy port while whatever listens there answered
            # our readiness check: we would talk to a stranger's chain and say nothing.
            raise ChainError(
                f"port {self.port} on {self.config.host} is in use (another node, perhaps an `openledger "
                f"node` still running: `lsof -i :{self.port}` shows it): stop it or pick another --port"
            )
        out = subprocess.DEVNULL if quiet else None
        # stderr to a file, not a pipe: a pipe nobody reads would block anvil once full.
        self._stderr = tempfile.TemporaryFile() if quiet else None
        on_linux = sys.platform.startswith("linux")
        self._proc = subprocess.Popen(
            self.command(),
            stdout=out,
            stderr=self._stderr,
            preexec_fn=_die_with_parent() if self.config.die_with_parent and on_linux else None,
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                err = self._read_stderr()
                raise ChainError(
                    f"anvil exited with code {self._proc.returncode} on port {self.port}: "
                    f"{err.strip()[-500:] or 'no output'}"
                )
            if self.is_ready():
                return
            time.sleep(0.05)
        raise ChainError(f"anvil did not answer on {self.rpc_url} within {timeout:.0f}s")

    def _read_stderr(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def is_ready(self) -> bool:
        try:
            reply = httpx.post(
                self.rpc_url,
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                timeout=1.0,
            )
            return reply.status_code == 200 and "result" in reply.json()
        except (httpx.HTTPError, ValueError):
            return False

    def wait(self) -> int:
        """Block until the process exits (the foreground `openledger node`)."""
        assert self._proc is not None, "anvil not started"
        return self._proc.wait()

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
