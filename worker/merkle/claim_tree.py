"""The RewardVault's claim tree: StandardMerkleTree leaves (address account, uint256 amount), with the
root and proofs as the bytes32 values the contract takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from worker.merkle.standard_tree import StandardMerkleTree

CLAIM_LEAF = ("address", "uint256")


@dataclass(frozen=True)
class ClaimTree:
    tree: StandardMerkleTree

    @classmethod
    def of(cls, entries: Sequence[tuple[str, int]]) -> ClaimTree:
        """One entry per account: the vault pays each (account, amount) leaf once."""
        return cls(StandardMerkleTree.of([[account, int(amount)] for account, amount in entries], CLAIM_LEAF))

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.tree.root[2:])

    def proof(self, index: int) -> list[bytes]:
        """Proof of the `index`-th entry as given to `of`."""
        return [bytes.fromhex(node[2:]) for node in self.tree.get_proof(index)]

    def proof_for(self, account: str, amount: int) -> list[bytes]:
        return [bytes.fromhex(node[2:]) for node in self.tree.get_proof([account, int(amount)])]
