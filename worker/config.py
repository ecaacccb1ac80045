"""Where OpenLedger keeps its state and which endpoints it talks to, read from the environment.

Everything has an embedded default so that `make demo` runs on a bare machine: a local Anvil on
127.0.0.1:8545, the content store and SQLite files under the per-user state directory.

    OPENLEDGER_HOME   state directory (default: the platform's per-user data directory, `openledger` in
                      $XDG_DATA_HOME or ~/.local/share on Linux, ~/Library/Application Support on macOS,
                      %LOCALAPPDATA% on Windows; resolved to an absolute path)
    OPENLEDGER_RPC    EVM JSON-RPC endpoint (default http://127.0.0.1:8545)
    IPFS_API          a Kubo RPC endpoint; unset or empty: the embedded content store
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_path
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.errors import ConfigError

DEFAULT_RPC_URL = "http://127.0.0.1:8545"


def default_home() -> Path:
    """The per-user state directory: one user's commands share it whatever the working directory, and
    a checkout's `git clean` never deletes a wallet user's databases."""
    return user_data_path("openledger", appauthor=False)


class Settings(BaseSettings):
    # Only the three variables below are read, by exact name (never $home or $RPC_URL; $HOME and
    # $XDG_DATA_HOME only as the platform convention for the default home), and no .env file. Code that
    # wants settings of its own uses `Settings.explicit`.
    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True)

    home: Path = Field(default_factory=default_home, validation_alias="OPENLEDGER_HOME")
    rpc_url: str = Field(DEFAULT_RPC_URL, validation_alias="OPENLEDGER_RPC")
    ipfs_api: str | None = Field(None, validation_alias="IPFS_API")

    @field_validator("home")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()

    @field_validator("ipfs_api")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @classmethod
    def explicit(cls, home: Path, rpc_url: str = DEFAULT_RPC_URL, ipfs_api: str | None = None) -> Settings:
        """Settings given in code (the environment is not consulted for these three)."""
        return cls(OPENLEDGER_HOME=home, OPENLEDGER_RPC=rpc_url, IPFS_API=ipfs_api)

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
