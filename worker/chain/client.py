"""ChainClient: one account on one deployment, with a typed wrapper per contract.

`client.as_account(signer)` gives the same deployment seen by another account (its own sender and
nonce manager); wrappers are created on first use.
"""

from __future__ import annotations

import os
from functools import cached_property

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import BlockIdentifier

from worker.chain.accounts import KEYSTORE_ENV, PRIVATE_KEY_ENV, ReadOnlySigner, Signer, resolve_signer
from worker.chain.artifacts import ErrorTable
from worker.chain.bindings import cached_artifact
from worker.chain.connection import DevChain, connect
from worker.chain.datanet_registry import DatanetRegistry
from worker.chain.deployment import Deployment, load_deployment
from worker.chain.events import EventDecoder
from worker.chain.governance import OpenGovernor
from worker.chain.model_registry import ModelRegistry
from worker.chain.open_token import OpenToken
from worker.chain.reward_vault import RewardVault
from worker.chain.sender import TransactionSender
from worker.chain.worker_registry import WorkerRegistry
from worker.config import load_settings

# Blocks per eth_getLogs: hosted RPCs cap the range of one query (often at 10,000 blocks, some lower).
MAX_LOG_RANGE = 10_000


def decoder_for(deployment: Deployment) -> EventDecoder:
    decoder = EventDecoder()
    for name, address in deployment.addresses.items():
        decoder.register(name, address, cached_artifact(name).abi)
    return decoder


class ChainClient:
    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        deployment: Deployment,
        *,
        errors: ErrorTable | None = None,
        decoder: EventDecoder | None = None,
        max_log_range: int = MAX_LOG_RANGE,
    ):
        if max_log_range < 1:
            raise ValueError("max_log_range must be at least 1 block")
        self.w3 = w3
        self.signer = signer
        self.deployment = deployment
        self.sender = TransactionSender(w3, signer, errors=errors)
        self.decoder = decoder or decoder_for(deployment)
        self.max_log_range = max_log_range  # blocks per eth_getLogs in `get_events` (lower it for your RPC)

    @classmethod
    def connect(
        cls, rpc_url: str | None = None, signer: Signer | None = None, *, read_only: bool = False
    ) -> ChainClient:
        """Connect to `rpc_url` (default: settings), load and verify this chain's recorded deployment.
        The account is `signer`, else the configured one (see resolve_signer); with none configured, or
        with `read_only`, the client reads and refuses to sign (ReadOnlySigner), so a dashboard or bot
        that only watches needs no key."""
        w3 = connect(rpc_url or load_settings().rpc_url)
        deployment = load_deployment(w3)
        if signer is None:
            signer = ReadOnlySigner() if read_only else _configured_or_read_only()
        return cls(w3, signer, deployment)

    def as_account(self, signer: Signer) -> ChainClient:
        return ChainClient(
            self.w3,
            signer,
            self.deployment,
            errors=self.sender.errors,
            decoder=self.decoder,
            max_log_range=self.max_log_range,
        )

    @property
    def address(self) -> ChecksumAddress:
        return self.signer.address

    @property
    def dev(self) -> DevChain:
        return DevChain(self.w3)

    def latest_timestamp(self) -> int:
        return self.block_timestamp("latest")

    def block_timestamp(self, block: BlockIdentifier) -> int:
        return int(self.w3.eth.get_block(block)["timestamp"])

    def block_number_of(self, block: BlockIdentifier) -> int:
        """The number of `block`: a number as is, a tag ("latest", "finalized", ...) or hash as the node
        resolves it now."""
        if isinstance(block, int):
            return block
        if block == "latest":
            return int(self.w3.eth.block_number)
        return int(self.w3.eth.get_block(block)["number"])

    def eth_balance(self, account: str | None = None) -> int:
        return int(self.w3.eth.get_balance(account or self.address))  # type: ignore[arg-type]

    @cached_property
    def token(self) -> OpenToken:
        return OpenToken(self, self.deployment.address("OpenToken"))

    @cached_property
    def datanets(self) -> DatanetRegistry:
        return DatanetRegistry(self, self.deployment.address("DatanetRegistry"))

    @cached_property
    def workers(self) -> WorkerRegistry:
        return WorkerRegistry(self, self.deployment.address("WorkerRegistry"))

    @cached_property
    def models(self) -> ModelRegistry:
        return ModelRegistry(self, self.deployment.address("ModelRegistry"))

    @cached_property
    def vault(self) -> RewardVault:
        return RewardVault(self, self.deployment.address("RewardVault"))

    @cached_property
    def governor(self) -> OpenGovernor:
        return OpenGovernor(self, self.deployment.address("OpenGovernor"))

    @property
    def timelock(self) -> ChecksumAddress:
        """The timelock: executor of governance and the protocol treasury."""
        return self.deployment.address("OpenTimelock")


def _configured_or_read_only() -> Signer:
    # A configured account that is broken (bad key, missing keystore) is an error now, not at signing.
    configured = os.environ.get(PRIVATE_KEY_ENV) or os.environ.get(KEYSTORE_ENV)
    return resolve_signer() if configured else ReadOnlySigner()
