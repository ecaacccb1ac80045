"""`ape run deploy --network ethereum:local:foundry`: ape-foundry starts Anvil, the script deploys."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from apecli import ape_env, ape_executable

from worker.chain.anvil import free_port
from worker.chain.deployment import CONTRACTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_ape_run_deploy(contracts_built: Path, tmp_path: Path) -> None:
    ape = ape_executable()
    port = free_port()
    env = ape_env(tmp_path, tmp_path / "home", f"http://127.0.0.1:{port}")
    done = subprocess.run(
        [ape, "run", "deploy", "--network", "ethereum:local:foundry"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert f"deploying OpenLedger to http://127.0.0.1:{port} (chain 31337)" in done.stdout
    record = json.loads((tmp_path / "home" / "deployments" / "31337.json").read_text())
    assert set(record["addresses"]) == set(CONTRACTS) and record["chain_id"] == 31337
    assert record["deployer"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # ape's TEST::0
    for name, address in record["addresses"].items():
        assert f"{name:<16} {address}" in done.stdout
