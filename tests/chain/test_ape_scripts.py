"""`ape run deploy --network ethereum:local:foundry`: ape-foundry starts Anvil, the script deploys."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from apecli import ape_env, ape_executable

from worker.chain.anvil import free_port
from worker.chain.deployment import CONTRACTS, load_deployment, save_deployment
from worker.chain.devnet import LocalChain

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_ape_run_deploy(contracts_built: Path, devnet: LocalChain, tmp_path: Path) -> None:
    # The CLI's record of another node of chain 31337 is there already: ape's deployment must not
    # overwrite it (records are keyed by chain id and genesis).
    ours = save_deployment(devnet.deployment, tmp_path / "home" / "deployments")
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
    [ape_record] = set((tmp_path / "home" / "deployments").glob("31337-*.json")) - {ours.path}
    record = json.loads(ape_record.read_text())
    assert record["genesis_hash"] != devnet.deployment.genesis_hash
    assert load_deployment(devnet.w3, tmp_path / "home" / "deployments").addresses == ours.addresses
    assert set(record["addresses"]) == set(CONTRACTS) and record["chain_id"] == 31337
    assert record["deployer"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # ape's TEST::0
    for name, address in record["addresses"].items():
        assert f"{name:<16} {address}" in done.stdout
