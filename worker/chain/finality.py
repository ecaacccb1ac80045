"""When a block is final: the rule a server uses before it trusts a payment for good.

Either a depth (a block with N confirmations; 1 = mined in the head block), or the node's `finalized`
block tag (proof-of-stake chains: the block the consensus layer finalized, about two epochs behind the
head on Ethereum). Local development chains (Anvil, Hardhat) never reorg on their own, so depth 1 is
their default; every other chain defaults to the tag, which a node that does not know it refuses with
a ChainError that names the fix (`--confirmations N`).
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.exceptions import Web3Exception

from worker.errors import ChainError

LOCAL_CHAIN_IDS = (31337, 1337)  # Anvil / Hardhat: instant, reorg-free unless asked


@dataclass(frozen=True)
class Finality:
    """`depth`: a block is final once it has this many confirmations; None: once the node's `finalized`
    tag reached it."""

    depth: int | None = 1

    def __post_init__(self) -> None:
        if self.depth is not None and self.depth < 1:
            raise ValueError("confirmations must be >= 1 (1 = mined in the head block)")

    @classmethod
    def confirmations(cls, depth: int) -> Finality:
        return cls(depth)

    @classmethod
    def finalized_tag(cls) -> Finality:
        return cls(None)

    @classmethod
    def for_chain(cls, chain_id: int, confirmations: int | None = None) -> Finality:
        """`confirmations` when given; else depth 1 on a local dev chain and the `finalized` tag elsewhere."""
        if confirmations is not None:
            return cls(confirmations)
        return cls(1) if chain_id in LOCAL_CHAIN_IDS else cls(None)

    @property
    def uses_tag(self) -> bool:
        return self.depth is None

    def final_block(self, w3: Web3, head: int | None = None) -> int:
        """The newest final block's number (0 while none but genesis is). `head`: the head block's number
        if the caller just read it (saves an RPC with a depth)."""
        if self.depth is not None:
            head = int(w3.eth.block_number) if head is None else head
            return max(0, head - self.depth + 1)
        try:
            return int(w3.eth.get_block("finalized")["number"])
        except (Web3Exception, ValueError, KeyError) as exc:
            raise ChainError(
                f"the node does not report a finalized block (eth_getBlockByNumber('finalized'): {exc}): "
                "it cannot tell when a payment is final; pass --confirmations N to count N blocks instead"
            ) from exc

    @property
    def rule(self) -> str:
        """A stable name of the rule ("depth 3", "finalized"), stored where replicas must agree on it."""
        return "finalized" if self.depth is None else f"depth {self.depth}"

    def describe(self) -> str:
        if self.depth is None:
            return "final once the node's finalized block reaches it"
        if self.depth == 1:
            return "final once mined (1 confirmation)"
        return f"final at {self.depth} confirmations"
