"""A client with no account reads the chain and refuses, before any RPC, everything that would sign."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.chain.accounts import ReadOnlySigner
from worker.chain.client import ChainClient
from worker.chain.deployment import save_deployment
from worker.chain.devnet import LocalChain
from worker.errors import ChainError

RECIPIENT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


@pytest.fixture
def no_account(devnet: LocalChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENLEDGER_HOME", str(tmp_path))
    monkeypatch.delenv("OPENLEDGER_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("OPENLEDGER_KEYSTORE", raising=False)
    save_deployment(devnet.deployment, tmp_path / "deployments")
    return str(devnet.w3.provider.endpoint_uri)  # type: ignore[attr-defined]


def test_reads_need_no_account(no_account: str, devnet: LocalChain) -> None:
    client = ChainClient.connect(no_account)
    assert isinstance(client.signer, ReadOnlySigner)
    assert client.token.total_supply() == 10**27
    assert client.token.balance_of(devnet.deployment.deployer) > 0
    assert client.datanets.datanet_count() >= 0


def test_a_write_is_refused_before_any_transaction(no_account: str, devnet: LocalChain) -> None:
    client = ChainClient.connect(no_account)
    head = devnet.w3.eth.block_number
    refused = r"OpenToken.transfer needs an account.*read-only.*OPENLEDGER_PRIVATE_KEY"
    with pytest.raises(ChainError, match=refused):
        client.token.transfer(RECIPIENT, 1)
    assert devnet.w3.eth.block_number == head


def test_a_broken_account_is_an_error_at_once(no_account: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLEDGER_PRIVATE_KEY", "0x1234")
    with pytest.raises(ChainError, match="invalid private key"):
        ChainClient.connect(no_account)
    monkeypatch.delenv("OPENLEDGER_PRIVATE_KEY")
    assert isinstance(ChainClient.connect(no_account, read_only=True).signer, ReadOnlySigner)
