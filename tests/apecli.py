"""Running `ape` as a user would, from tests: the executable (skipping where ape is not installed) and the
environment it needs (our solc shim where ape-solidity looks for it, the node tools, an OPENLEDGER_HOME,
and the Anvil endpoint ape-foundry must use)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ape_executable() -> str:
    ape = Path(sys.executable).parent / "ape"
    if ape.is_file():
        return str(ape)
    if shutil.which("ape") is None:
        pytest.skip("ape is not installed in this environment")
    return "ape"


def ape_env(tmp_path: Path, home: Path, foundry_host: str, **extra: str) -> dict[str, str]:
    """`foundry_host`: ape-foundry attaches to a node there (or starts one), never 127.0.0.1:8545."""
    solcx = tmp_path / "solcx"  # ape-solidity looks only here for `solc-v<version>`
    solcx.mkdir()
    (solcx / "solc-v0.8.37").symlink_to(ROOT / "tools" / "solc" / "solc")
    path = [str(Path(sys.executable).parent), str(ROOT / "node_modules" / ".bin"), os.environ.get("PATH", "")]
    return {
        **os.environ,
        "PATH": os.pathsep.join(path),
        "SOLCX_BINARY_PATH": str(solcx),
        "OPENLEDGER_HOME": str(home),
        "APE_FOUNDRY_HOST": foundry_host,
        **extra,
    }
