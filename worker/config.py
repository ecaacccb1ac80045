"""Where OpenLedger keeps its state and which endpoints it talks to, read from the environment.

Everything has an embedded default so that `make demo` runs on a bare machine: a local Anvil on
127.0.0.1:8545, the content store under `.openledger/ipfs`, SQLite under `.openledger/`.

    OPENLEDGER_HOME   state directory (default ./.openledger, resolved to an absolute path)
    OPENLEDGER_RPC    EVM JSON-RPC endpoint (default http://127.0.0.1:8545)
    IPFS_API          a Kubo RPC endpoint; unset or empty: the embedded content store
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.errors import ConfigError

DEFAULT_RPC_URL = "http://127.0.0.1:8545"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    home: Path = Field(
        default_factory=lambda: Path.cwd() / ".openledger",
        validation_alias=AliasChoices("OPENLEDGER_HOME", "home"),
    )
    rpc_url: str = Field(DEFAULT_RPC_URL, validation_alias=AliasChoices("OPENLEDGER_RPC", "rpc_url"))
    ipfs_api: str | None = Field(None, validation_alias=AliasChoices("IPFS_API", "ipfs_api"))

    @field_validator("home")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()

    @field_validator("ipfs_api")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

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
    """The settings the environment gives now (read afresh on every call: tests and commands set it)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(f"invalid OpenLedger environment: {exc}") from exc
