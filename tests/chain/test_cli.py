"""`openledger node`, `deploy` and `status` against a real Anvil."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from worker.chain.anvil import free_port
from worker.chain.connection import genesis_hash
from worker.chain.deployment import CONTRACTS, deployment_path
from worker.chain.devnet import LocalChain
from worker.cli import app

runner = CliRunner()


def _env(home: Path, rpc: str) -> dict[str, str]:
    return {"OPENLEDGER_HOME": str(home), "OPENLEDGER_RPC": rpc, "OPENLEDGER_PRIVATE_KEY": ""}


def test_deploy_then_status(devnet: LocalChain, tmp_path: Path) -> None:
    rpc = devnet.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    deployed = runner.invoke(app, ["deploy", "--json"], env=_env(tmp_path, rpc))
    assert deployed.exit_code == 0, deployed.output
    record = json.loads(deployed.stdout)
    assert set(record["addresses"]) == set(CONTRACTS)
    assert Path(record["path"]) == deployment_path(31337, genesis_hash(devnet.w3), tmp_path / "deployments")
    status = runner.invoke(app, ["status", "--json"], env=_env(tmp_path, rpc))
    assert status.exit_code == 0, status.output
    shown = json.loads(status.stdout)
    assert shown["chainId"] == 31337 and shown["deployment"]["addresses"] == record["addresses"]
    assert shown["account"]["address"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert shown["account"]["open"] == 10**27  # the CLI deployment minted its own supply to account 0
    text = runner.invoke(app, ["status", "--dev-account", "3"], env=_env(tmp_path, rpc))
    assert text.exit_code == 0 and "anvil dev account 3" in text.stdout


def test_status_without_deployment_and_without_node(devnet: LocalChain, tmp_path: Path) -> None:
    rpc = devnet.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    status = runner.invoke(app, ["status"], env=_env(tmp_path, rpc))
    assert status.exit_code == 0 and "no deployment recorded for chain 31337" in status.stdout
    down = runner.invoke(app, ["status"], env=_env(tmp_path, f"http://127.0.0.1:{free_port()}"))
    assert down.exit_code == 1 and "cannot reach the RPC" in down.output


RESTORE_SIGINT = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
NODE = RESTORE_SIGINT + "from worker.cli import app; app()"


CHAIN_ID = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}


def _answers(port: int) -> bool:
    try:
        return httpx.post(f"http://127.0.0.1:{port}", json=CHAIN_ID, timeout=1).json()["result"] == "0x7a69"
    except httpx.HTTPError:
        return False


def _start_node(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        # A parent started in the background (nohup, `&`) hands SIGINT down as ignored; restore Python's
        # handler so the test checks our Ctrl-C path, not the caller's shell.
        [sys.executable, "-c", NODE, "node", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**_env(tmp_path, ""), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # printed once anvil answers, inside the interruptible section
    assert f"listening on http://127.0.0.1:{port}" in first, first
    assert _answers(port)
    return proc


@pytest.mark.timeout(60)
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_node_runs_in_the_foreground_until_stopped(tmp_path: Path, stop: signal.Signals) -> None:
    port = free_port()
    proc = _start_node(tmp_path, port)
    try:
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "stopping anvil" in out
        assert not _answers(port)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.timeout(60)
def test_node_killed_outright_takes_its_anvil_along(tmp_path: Path) -> None:
    port = free_port()
    proc = _start_node(tmp_path, port)
    proc.kill()  # SIGKILL: no handler runs; the kernel tells anvil its parent died
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _answers(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _answers(port)


@pytest.mark.timeout(60)
def test_node_refuses_a_busy_port(tmp_path: Path) -> None:
    port = free_port()
    first = _start_node(tmp_path, port)
    try:
        second = runner.invoke(app, ["node", "--port", str(port)], env=_env(tmp_path, ""))
        assert second.exit_code == 1
        assert f"port {port} on 127.0.0.1 is in use" in second.output and "--port" in second.output
        assert _answers(port)  # the first node is untouched
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
