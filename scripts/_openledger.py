"""Shared by the journey scripts (ape skips files starting with "_"): the ape account that signs, as a
worker.chain signer, and the typed OpenLedger client on ape's connected provider.

The account is `--account ALIAS` (an ape keyfile account; ape asks for its passphrase), `--test-account N`
(ape's test accounts, local chains), or else the alias in $OPENLEDGER_APE_ACCOUNT, or test account 0.
"""

from __future__ import annotations

import os
from typing import Any

import click
from ape import accounts
from eth_account.messages import encode_typed_data

from scripts.deploy import ACCOUNT_ENV, ApeAccountSigner
from worker.chain.accounts import Signature
from worker.chain.client import ChainClient
from worker.chain.connection import connect
from worker.chain.deployment import load_deployment
from worker.units import OPEN


class ApeSigner(ApeAccountSigner):
    """An ape account that also signs EIP-712 messages (permits, inference requests)."""

    def sign_typed_data(
        self, domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any]
    ) -> Signature:
        signed = self._account.sign_message(encode_typed_data(domain, types, message))
        if signed is None:
            raise RuntimeError(f"{self.source} declined to sign the typed message")
        return Signature(v=int(signed.v), r=bytes(signed.r), s=bytes(signed.s))


def account_options(command: Any) -> Any:
    """`--account ALIAS` / `--test-account N` on a journey command."""
    command = click.option("--test-account", type=int, default=None, help="Use ape's test account N")(command)
    return click.option("--account", default=None, help="Alias of the ape account that signs")(command)


def ape_account(alias: str | None = None, test_index: int | None = None) -> Any:
    if alias:
        return accounts.load(alias)
    if test_index is not None:
        return accounts.test_accounts[test_index]
    env_alias = os.environ.get(ACCOUNT_ENV)
    return accounts.load(env_alias) if env_alias else accounts.test_accounts[0]


def client_for(provider: Any, alias: str | None = None, test_index: int | None = None) -> ChainClient:
    """The OpenLedger deployment recorded for this chain, seen by the chosen ape account."""
    if not provider.http_uri:
        raise click.ClickException(f"provider {provider.name} has no HTTP endpoint")
    w3 = connect(provider.http_uri)
    return ChainClient(w3, ApeSigner(ape_account(alias, test_index)), load_deployment(w3))


def parse_open(text: str) -> int:
    from decimal import Decimal

    return int(Decimal(text) * OPEN)
