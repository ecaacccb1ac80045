"""A minimal OpenZeppelin StandardMerkleTree for ["address", "uint256"] leaves (test stand-in).

Same layout as @openzeppelin/merkle-tree: leaf = keccak256(keccak256(abi.encode(account, amount))),
leaves sorted by hash, a complete binary tree in an array (children of i at 2i+1, 2i+2), sorted-pair
hashing. Only what the chain tests need: root and proofs.
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak, to_checksum_address


def leaf_hash(account: str, amount: int) -> bytes:
    return keccak(keccak(encode(["address", "uint256"], [to_checksum_address(account), amount])))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


class RewardTree:
    def __init__(self, entries: list[tuple[str, int]]):
        if not entries:
            raise ValueError("a reward tree needs at least one entry")
        self.entries = [(to_checksum_address(a), int(v)) for a, v in entries]
        hashed = sorted((leaf_hash(a, v), i) for i, (a, v) in enumerate(self.entries))
        n = len(hashed)
        self._tree: list[bytes] = [b""] * (2 * n - 1)
        self._position: dict[int, int] = {}
        for k, (h, i) in enumerate(hashed):
            pos = len(self._tree) - 1 - k
            self._tree[pos] = h
            self._position[i] = pos
        for pos in range(len(self._tree) - n - 1, -1, -1):
            self._tree[pos] = _pair(self._tree[2 * pos + 1], self._tree[2 * pos + 2])

    @property
    def root(self) -> bytes:
        return self._tree[0]

    def proof(self, index: int) -> list[bytes]:
        pos, out = self._position[index], []
        while pos > 0:
            sibling = pos - 1 if pos % 2 == 0 else pos + 1
            out.append(self._tree[sibling])
            pos = (pos - 1) // 2
        return out


def verify(root: bytes, leaf: bytes, proof: list[bytes]) -> bool:
    node = leaf
    for sibling in proof:
        node = _pair(node, sibling)
    return node == root
