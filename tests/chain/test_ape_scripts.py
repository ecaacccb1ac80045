"""`ape run deploy --network ethereum:local:foundry`: ape-foundry starts Anvil, the script deploys."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from worker.chain.anvil import free_port
from worker.chain.deployment import CONTRACTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_ape_run_deploy(contracts_built: Path, tmp_path: Path) -> None:
    ape = Path(sys.executable).parent / "ape"
    if not ape.is_file() and shutil.which("ape") is None:
        pytest.skip("ape is not installed in this environment")
    port = free_port()
    solcx = tmp_path / "solcx"  # ape-solidity looks only here for `solc-v<version>`
    solcx.mkdir()
    (solcx / "solc-v0.8.37").symlink_to(ROOT / "tools" / "solc" / "solc")
    env = {
        **os.environ,
        "PATH": os.pathsep.join(
            [
                str(Path(sys.executable).parent),
                str(ROOT / "node_modules" / ".bin"),
                os.environ.get("PATH", ""),
            ]
        ),
        "SOLCX_BINARY_PATH": str(solcx),
        "OPENLEDGER_HOME": str(tmp_path / "home"),
        # ape-foundry would otherwise use (or attach to a node already on) 127.0.0.1:8545
        "APE_FOUNDRY_HOST": f"http://127.0.0.1:{port}",
    }
    done = subprocess.run(
        [str(ape) if ape.is_file() else "ape", "run", "deploy", "--network", "ethereum:local:foundry"],
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
