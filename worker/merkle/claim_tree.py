"""The RewardVault's claim tree: StandardMerkleTree leaves (uint256 index, address account, uint256 amount),
with the root and proofs as the bytes32 values the contract takes.

`index` is the leaf's position in the list given to `of` (0..n-1): the vault marks it in a bitmap when
claimed, so one storage word records 256 claims and the same account may appear in several leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from worker.merkle.standard_tree import MerkleTreeError, StandardMerkleTree

CLAIM_LEAF = ("uint256", "address", "uint256")


@dataclass(frozen=True)
class ClaimLeaf:
    index: int
    account: str
    amount: int

    def value(self) -> list[int | str]:
        return [self.index, self.account, self.amount]


@dataclass(frozen=True)
class ClaimTree:
    tree: StandardMerkleTree

    @classmethod
    def of(cls, entries: Sequence[tuple[str, int]]) -> ClaimTree:
        """Leaf i is (i, account, amount) of the i-th entry."""
        values = [[i, to_checksum_address(a), int(amount)] for i, (a, amount) in enumerate(entries)]
        return cls(StandardMerkleTree.of(values, CLAIM_LEAF))

    @property
    def root(self) -> bytes:
        return self.tree.root_bytes

    def __len__(self) -> int:
        return len(self.tree)

    def leaf(self, index: int) -> ClaimLeaf:
        if not 0 <= index < len(self.tree):
            raise MerkleTreeError(f"leaf index {index} is out of range (tree has {len(self.tree)} leaves)")
        i, account, amount = self.tree.at(index)
        return ClaimLeaf(int(i), str(account), int(amount))

    def leaf_of(self, account: str) -> ClaimLeaf:
        """The first leaf paying `account` (epoch reports hold one leaf per account)."""
        account = to_checksum_address(account)
        for _, (index, holder, amount) in self.tree.entries():
            if holder == account:
                return ClaimLeaf(int(index), holder, int(amount))
        raise MerkleTreeError(f"{account} has no leaf in this claim tree")

    def proof(self, index: int) -> list[bytes]:
        """Proof of leaf `index` (the `index`-th entry given to `of`)."""
        return [bytes.fromhex(node[2:]) for node in self.tree.get_proof(index)]

    def proof_for(self, account: str) -> tuple[ClaimLeaf, list[bytes]]:
        """(leaf, proof) of `account`'s leaf."""
        leaf = self.leaf_of(account)
        return leaf, self.proof(leaf.index)


def verify_claim(root: bytes, leaf: ClaimLeaf, proof: Sequence[bytes]) -> bool:
    """What the vault's `claim` checks of a proof, read-only."""
    return StandardMerkleTree.verify_proof(root, CLAIM_LEAF, leaf.value(), list(proof))
