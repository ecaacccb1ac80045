"""`ape run deploy --network ethereum:local:foundry`: deploy OpenLedger through ape's connected provider.

The deployment itself is `worker.chain.deployment` (the same code as `openledger deploy`, artifacts from
forge's out/); ape supplies the RPC endpoint and the account. The account is the ape account whose alias
is in $OPENLEDGER_APE_ACCOUNT (ape prompts for its passphrase), or ape's first test account.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ape import accounts, networks
from eth_typing import ChecksumAddress

from worker.chain.accounts import Signature
from worker.chain.connection import connect
from worker.chain.deployment import Deployment, DeploymentConfig, deploy_system

ACCOUNT_ENV = "OPENLEDGER_APE_ACCOUNT"


class ApeAccountSigner:
    """Lets an ape account (test or keyfile) sign the transactions worker.chain builds."""

    def __init__(self, account: Any):
        self._account = account

    @property
    def address(self) -> ChecksumAddress:
        return ChecksumAddress(str(self._account.address))

    @property
    def source(self) -> str:
        return f"ape account {getattr(self._account, 'alias', None) or self._account.address}"

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        fields = {k: v for k, v in tx.items() if k != "from"}
        txn = networks.provider.network.ecosystem.create_transaction(type=2, sender=self.address, **fields)
        signed = self._account.sign_transaction(txn)
        if signed is None:
            raise RuntimeError(f"{self.source} declined to sign the deployment transaction")
        return bytes(signed.serialize_transaction())

    def sign_typed_data(
        self, domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any]
    ) -> Signature:
        raise NotImplementedError("the deployment signs no typed data")


def _account() -> Any:
    alias = os.environ.get(ACCOUNT_ENV)
    return accounts.load(alias) if alias else accounts.test_accounts[0]


def main() -> Deployment:
    provider = networks.provider
    rpc_url = provider.http_uri
    if not rpc_url:
        raise RuntimeError(f"provider {provider.name} has no HTTP endpoint to deploy through")
    signer = ApeAccountSigner(_account())
    keep_admin = os.environ.get("OPENLEDGER_KEEP_DEPLOYER_ADMIN") == "1"
    profile = os.environ.get("OPENLEDGER_DEPLOY_PROFILE", "local")
    print(f"deploying OpenLedger to {rpc_url} (chain {provider.chain_id}) from {signer.source}")
    deployment = deploy_system(
        connect(rpc_url),
        signer,
        dataclasses.replace(DeploymentConfig.for_profile(profile), keep_deployer_admin=keep_admin),
        progress=lambda line: print(f"  {line}"),
    )
    for name, address in deployment.addresses.items():
        print(f"{name:<16} {address}")
    print(f"recorded in {deployment.path}")
    return deployment
