"""The environment OpenLedger reads: exactly OPENLEDGER_HOME, OPENLEDGER_RPC and IPFS_API, never look-alikes
such as $HOME or $RPC_URL (which a shell, Foundry or CI sets for other tools)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from worker.config import DEFAULT_RPC_URL, Settings

SHOW = "from worker.config import load_settings as l; s = l(); print(s.home, s.rpc_url, s.ipfs_api)"


def _settings(tmp_path: Path, **env: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SHOW], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True, text=True, check=True,
    )
    return done.stdout.split()


def test_defaults_ignore_look_alike_variables(tmp_path: Path) -> None:
    look_alikes = {"home": "/lower", "RPC_URL": "http://evil:1", "rpc_url": "http://e", "XDG_DATA_HOME": ""}
    user = tmp_path / "user"
    assert _settings(tmp_path, HOME=str(user), **look_alikes) == [
        str(user / ".local" / "share" / "openledger"), DEFAULT_RPC_URL, "None"
    ]


def test_the_default_home_is_per_user_whatever_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env = {"HOME": str(tmp_path / "user"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    homes = {_settings(tmp_path / where, **env)[0] for where in ("a", "b")}
    assert homes == {str(tmp_path / "xdg" / "openledger")}


def test_the_three_variables(tmp_path: Path) -> None:
    env = {"OPENLEDGER_HOME": "state", "OPENLEDGER_RPC": "http://node:8545", "IPFS_API": "http://kubo:5001"}
    assert _settings(tmp_path, **env) == [str((tmp_path / "state").resolve()), "http://node:8545",
                                          "http://kubo:5001"]
    assert _settings(tmp_path, IPFS_API="")[2] == "None"  # empty means the embedded store


def test_explicit_settings(tmp_path: Path) -> None:
    given = Settings.explicit(tmp_path, "http://x")
    assert (given.home, given.rpc_url, given.ipfs_api) == (tmp_path.resolve(), "http://x", None)
    assert given.ipfs_dir == tmp_path.resolve() / "ipfs"
