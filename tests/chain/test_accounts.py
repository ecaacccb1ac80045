"""Signers: environment key, encrypted keystore, Anvil dev accounts; never a key in output."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.chain.accounts import (
    KEYSTORE_ENV,
    KEYSTORE_PASSWORD_ENV,
    PRIVATE_KEY_ENV,
    dev_signer,
    resolve_signer,
    signer_from_keystore,
    write_keystore,
)
from worker.errors import ChainError

# Anvil's well-known dev account 1: public test material, never a real key.
DEV1_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
DEV1_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (PRIVATE_KEY_ENV, KEYSTORE_ENV, KEYSTORE_PASSWORD_ENV):
        monkeypatch.delenv(var, raising=False)


def test_dev_accounts_are_anvils() -> None:
    assert dev_signer(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert dev_signer(1).address == DEV1_ADDRESS
    with pytest.raises(ChainError, match=">= 0"):
        dev_signer(-1)


def test_private_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRIVATE_KEY_ENV, DEV1_KEY)
    signer = resolve_signer()
    assert signer.address == DEV1_ADDRESS and signer.source == f"${PRIVATE_KEY_ENV}"
    assert DEV1_KEY[2:] not in repr(signer)
    monkeypatch.setenv(PRIVATE_KEY_ENV, "0x1234")
    with pytest.raises(ChainError, match="invalid private key"):
        resolve_signer()


def test_keystore_round_trip_with_password_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_keystore(DEV1_KEY, tmp_path / "key.json", "correct horse", iterations=2**10)
    monkeypatch.setenv(KEYSTORE_PASSWORD_ENV, "correct horse")
    assert resolve_signer(keystore=path).address == DEV1_ADDRESS
    monkeypatch.setenv(KEYSTORE_ENV, str(path))
    assert resolve_signer().address == DEV1_ADDRESS
    assert DEV1_KEY[2:] not in path.read_text()


def test_keystore_errors_say_what_is_wrong(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_keystore(DEV1_KEY, tmp_path / "key.json", "right", iterations=2**10)
    with pytest.raises(ChainError, match="wrong password"):
        signer_from_keystore(path, "wrong")
    with pytest.raises(ChainError, match="does not exist"):
        signer_from_keystore(tmp_path / "missing.json", "x")
    (tmp_path / "junk.json").write_text("not json")
    with pytest.raises(ChainError, match="not JSON"):
        signer_from_keystore(tmp_path / "junk.json", "x")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(ChainError, match=KEYSTORE_PASSWORD_ENV):
        signer_from_keystore(path)


def test_no_account_lists_the_ways_to_give_one() -> None:
    with pytest.raises(ChainError, match=f"{PRIVATE_KEY_ENV}.*--keystore.*--dev-account"):
        resolve_signer()
    assert resolve_signer(dev_index=2).address == dev_signer(2).address
