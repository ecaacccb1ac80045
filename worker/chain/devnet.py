"""A local development network: Anvil + the deployed protocol + a client per dev account.

One object for the things tests, benchmarks and the demo all need: start a chain, deploy, act as
Anvil account N, snapshot/revert, move time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from worker.chain.accounts import dev_signer
from worker.chain.anvil import Anvil, AnvilConfig
from worker.chain.artifacts import error_table
from worker.chain.client import ChainClient, decoder_for
from worker.chain.connection import DevChain, connect
from worker.chain.deployment import Deployment, DeploymentConfig, deploy_system


@dataclass
class LocalChain:
    """A deployment on a running local chain; `client(i)` acts as dev account i."""

    w3: Web3
    deployment: Deployment
    anvil: Anvil | None = None

    def __post_init__(self) -> None:
        self._clients: dict[int, ChainClient] = {}
        self._decoder = decoder_for(self.deployment)

    @classmethod
    def deploy(
        cls,
        w3: Web3,
        config: DeploymentConfig | None = None,
        deployments_dir: Path | None = None,
        deployer_index: int = 0,
    ) -> LocalChain:
        deployment = deploy_system(
            w3,
            dev_signer(deployer_index),
            config,
            deployments_dir=deployments_dir,
            save=deployments_dir is not None,
        )
        return cls(w3, deployment)

    @classmethod
    def start(
        cls,
        config: DeploymentConfig | None = None,
        deployments_dir: Path | None = None,
        anvil_config: AnvilConfig | None = None,
    ) -> LocalChain:
        """Start a fresh Anvil and deploy on it; `stop()` ends it."""
        anvil = Anvil(anvil_config).start()
        try:
            chain = cls.deploy(connect(anvil.rpc_url), config, deployments_dir)
        except BaseException:
            anvil.stop()
            raise
        chain.anvil = anvil
        return chain

    def stop(self) -> None:
        if self.anvil is not None:
            self.anvil.stop()

    def client(self, index: int) -> ChainClient:
        if index not in self._clients:
            self._clients[index] = ChainClient(
                self.w3, dev_signer(index), self.deployment, errors=error_table(), decoder=self._decoder
            )
        return self._clients[index]

    @property
    def dev(self) -> DevChain:
        return DevChain(self.w3)
