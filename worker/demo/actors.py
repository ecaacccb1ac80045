"""The cast of the demo: Anvil's deterministic dev accounts, each with a role."""

from __future__ import annotations

from dataclasses import dataclass

from worker.chain.client import ChainClient
from worker.chain.devnet import LocalChain
from worker.units import OPEN


@dataclass(frozen=True)
class Actors:
    chain: LocalChain

    deployer: int = 0
    datanet_owner: int = 1
    curator: int = 2
    contributors: tuple[int, ...] = (3, 4, 5, 6)
    model_owner: int = 7
    worker: int = 8
    user: int = 9

    def client(self, index: int) -> ChainClient:
        return self.chain.client(index)

    def name(self, index: int) -> str:
        if index in self.contributors:
            return f"contributor-{self.contributors.index(index) + 1}"
        names = {
            self.deployer: "deployer",
            self.datanet_owner: "datanet-owner",
            self.curator: "curator",
            self.model_owner: "model-owner",
            self.worker: "worker",
            self.user: "user",
        }
        return names[index]

    def address_names(self) -> dict[str, str]:
        indices = (
            self.deployer,
            self.datanet_owner,
            self.curator,
            *self.contributors,
            self.model_owner,
            self.worker,
            self.user,
        )
        return {self.client(i).address: self.name(i) for i in indices}

    def fund_everyone(self, amount: int = 10_000 * OPEN) -> None:
        treasury = self.client(self.deployer)
        for index in (
            self.datanet_owner,
            self.curator,
            *self.contributors,
            self.model_owner,
            self.worker,
            self.user,
        ):
            treasury.token.transfer(self.client(index).address, amount)
