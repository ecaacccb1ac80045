"""A throwaway OPENLEDGER_HOME for CLI tests: its own content store, and the recorded deployment of the
shared `devnet` (tests/conftest.py starts the chain; nothing here starts Anvil)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from worker.cli import app
from worker.storage import LocalStore
from worker.units import OPEN

if TYPE_CHECKING:
    from worker.chain.devnet import LocalChain

runner = CliRunner()  # result.stdout: --json output only; warnings and errors are in result.stderr


@dataclass
class CliHome:
    home: Path
    rpc: str

    @property
    def store(self) -> LocalStore:
        return LocalStore(self.home / "ipfs")

    def env(self, **extra: str) -> dict[str, str]:
        # Empty values unset the variables for the command: no key, keystore or Kubo from the caller's shell.
        base = {
            "OPENLEDGER_HOME": str(self.home),
            "OPENLEDGER_RPC": self.rpc,
            "OPENLEDGER_PRIVATE_KEY": "",
            "OPENLEDGER_KEYSTORE": "",
            "IPFS_API": "",
        }
        return {**base, **extra}

    def run(self, *args: str | Path, code: int = 0, **env: str) -> Result:
        result = runner.invoke(app, [str(a) for a in args], env=self.env(**env))
        assert result.exit_code == code, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str | Path, code: int = 0, **env: str) -> Any:
        return json.loads(self.run(*args, "--json", code=code, **env).stdout)


@pytest.fixture
def offline_home(tmp_path: Path) -> CliHome:
    """A home for commands that need no chain (ipfs)."""
    return CliHome(tmp_path / "home", "http://127.0.0.1:9")


@pytest.fixture
def chain_home(devnet: LocalChain, tmp_path: Path) -> CliHome:
    """A home whose deployment record is the devnet's; dev accounts 3..5 hold 1000 OPEN each."""
    assert devnet.deployment.path is not None
    deployments = tmp_path / "home" / "deployments"
    deployments.mkdir(parents=True)
    shutil.copy(devnet.deployment.path, deployments / devnet.deployment.path.name)
    treasury = devnet.client(0).token
    for index in (3, 4, 5):
        treasury.transfer(devnet.client(index).address, 1_000 * OPEN)
    return CliHome(tmp_path / "home", devnet.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
