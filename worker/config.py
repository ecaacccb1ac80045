"""Where OpenLedger keeps its state and which endpoints it talks to.

Everything has an embedded default so that `make demo` runs on a bare machine: a local Anvil on
127.0.0.1:8545, the content store under `.openledger/ipfs`, SQLite under `.openledger/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_RPC_URL = "http://127.0.0.1:8545"


@dataclass(frozen=True)
class Settings:
    home: Path
    rpc_url: str
    ipfs_api: str | None

    @property
    def ipfs_dir(self) -> Path:
        return self.home / "ipfs"

    @property
    def deployments_dir(self) -> Path:
        return self.home / "deployments"


def project_root() -> Path:
    """The repository root (where `out/` artifacts and `node_modules/` live)."""
    return Path(__file__).resolve().parent.parent


def load_settings() -> Settings:
    home = Path(os.environ.get("OPENLEDGER_HOME", Path.cwd() / ".openledger")).resolve()
    return Settings(
        home=home,
        rpc_url=os.environ.get("OPENLEDGER_RPC", DEFAULT_RPC_URL),
        ipfs_api=os.environ.get("IPFS_API") or None,
    )
