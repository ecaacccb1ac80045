"""`openledger node`, `deploy` and `status` against a real Anvil."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from worker.chain.anvil import free_port
from worker.chain.deployment import CONTRACTS
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
    assert Path(record["path"]) == tmp_path / "deployments" / "31337.json"
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


@pytest.mark.timeout(60)
def test_node_runs_in_the_foreground_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        # A parent started in the background (nohup, `&`) hands SIGINT down as ignored; restore Python's
        # handler so the test checks our Ctrl-C path, not the caller's shell.
        [sys.executable, "-c", NODE, "node", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**_env(tmp_path, ""), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed once anvil answers, inside the interruptible section
        assert f"listening on http://127.0.0.1:{port}" in first, first
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        assert httpx.post(f"http://127.0.0.1:{port}", json=body, timeout=5).json()["result"] == "0x7a69"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "stopping anvil" in out
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"http://127.0.0.1:{port}", json=body, timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()
