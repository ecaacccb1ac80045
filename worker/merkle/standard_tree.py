"""OpenZeppelin StandardMerkleTree, bit for bit (the layout of @openzeppelin/merkle-tree 1.x, "standard-v1").

- leaf = keccak256(keccak256(abi.encode(leafEncoding, value))): the double hash keeps a leaf from ever
  being read as an inner node (second pre-image attacks);
- inner node = keccak256 of the two children in ascending byte order, so proofs carry no left/right bits
  and verify with OpenZeppelin's `MerkleProof.verify` on-chain;
- leaves sorted by hash, stored in one array as a complete binary tree (children of i at 2i+1 and 2i+2,
  leaf k at index len-1-k), which makes the root independent of the order values were given in.
`dump()`/`load()` read and write the JSON format of the JS library, so any wallet tool can build proofs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from eth_abi.abi import encode
from eth_abi.exceptions import EncodingError
from eth_utils.crypto import keccak

from worker.errors import OpenLedgerError

FORMAT = "standard-v1"


class MerkleTreeError(OpenLedgerError):
    """A Merkle tree cannot be built, loaded or proven as asked."""


def _hex(node: bytes) -> str:
    return "0x" + node.hex()


def _bytes(node: str | bytes) -> bytes:
    raw = node if isinstance(node, bytes) else bytes.fromhex(node.removeprefix("0x"))
    if len(raw) != 32:
        raise MerkleTreeError(f"Merkle nodes are 32 bytes, got {len(raw)}: {node!r}")
    return raw


def leaf_hash(leaf_encoding: Sequence[str], value: Sequence[Any]) -> bytes:
    """keccak256(keccak256(abi.encode(types, value))), as `standardLeafHash` in the JS library."""
    if len(value) != len(leaf_encoding):
        raise MerkleTreeError(f"leaf {list(value)!r} has {len(value)} values for types {list(leaf_encoding)}")
    try:
        values = [_abi_value(kind, item) for kind, item in zip(leaf_encoding, value, strict=True)]
        return keccak(keccak(encode(list(leaf_encoding), values)))
    except (EncodingError, TypeError, ValueError) as exc:
        types = list(leaf_encoding)
        raise MerkleTreeError(f"leaf {list(value)!r} does not encode as {types}: {exc}") from exc


def _abi_value(kind: str, value: Any) -> Any:
    """Accept 0x-hex strings for bytes/bytesN as the JS library does (eth_abi wants `bytes`)."""
    if kind.startswith("bytes") and not kind.endswith("]") and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return value


def node_hash(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def process_proof(leaf: bytes, proof: Sequence[str | bytes]) -> bytes:
    node = leaf
    for sibling in proof:
        node = node_hash(node, _bytes(sibling))
    return node


def _make_tree(leaves: list[bytes]) -> list[bytes]:
    if not leaves:
        raise MerkleTreeError("a Merkle tree needs at least one leaf")
    tree = [b""] * (2 * len(leaves) - 1)
    for i, leaf in enumerate(leaves):
        tree[len(tree) - 1 - i] = leaf
    for i in range(len(tree) - 1 - len(leaves), -1, -1):
        tree[i] = node_hash(tree[2 * i + 1], tree[2 * i + 2])
    return tree


class StandardMerkleTree:
    """Build with `of(values, leaf_encoding)`; `root`, `get_proof(i | value)`, `verify(...)`, `dump()`."""

    def __init__(self, tree: list[bytes], values: list[tuple[list[Any], int]], leaf_encoding: list[str]):
        self._tree = tree
        self._values = values  # (value, tree index) in the order the caller gave them
        self.leaf_encoding = list(leaf_encoding)
        self._lookup = {tree[index]: i for i, (_, index) in enumerate(values)}

    @classmethod
    def of(cls, values: Sequence[Sequence[Any]], leaf_encoding: Sequence[str],
           sort_leaves: bool = True) -> StandardMerkleTree:
        hashed = [(leaf_hash(leaf_encoding, value), i) for i, value in enumerate(values)]
        if sort_leaves:
            hashed.sort(key=lambda item: item[0])
        tree = _make_tree([leaf for leaf, _ in hashed])
        indexed: list[tuple[list[Any], int]] = [(list(value), 0) for value in values]
        for position, (_, value_index) in enumerate(hashed):
            indexed[value_index] = (indexed[value_index][0], len(tree) - 1 - position)
        return cls(tree, indexed, list(leaf_encoding))

    @property
    def root(self) -> str:
        """The root as 0x-prefixed hex (what the contracts store as bytes32)."""
        return _hex(self._tree[0])

    @property
    def root_bytes(self) -> bytes:
        return self._tree[0]

    def __len__(self) -> int:
        return len(self._values)

    def at(self, index: int) -> list[Any]:
        return self._values[index][0]

    def entries(self) -> Iterator[tuple[int, list[Any]]]:
        for i, (value, _) in enumerate(self._values):
            yield i, value

    def leaf_lookup(self, value: Sequence[Any]) -> int:
        index = self._lookup.get(leaf_hash(self.leaf_encoding, value))
        if index is None:
            raise MerkleTreeError(f"leaf {list(value)!r} is not in the tree")
        return index

    def get_proof(self, leaf: int | Sequence[Any]) -> list[str]:
        """Sibling hashes from the leaf up to (not including) the root, as 0x hex."""
        value_index = leaf if isinstance(leaf, int) else self.leaf_lookup(leaf)
        if not 0 <= value_index < len(self._values):
            raise MerkleTreeError(f"leaf index {value_index} is out of range (tree has {len(self)} leaves)")
        index = self._values[value_index][1]
        proof: list[str] = []
        while index > 0:
            sibling = index - 1 if index % 2 == 0 else index + 1
            proof.append(_hex(self._tree[sibling]))
            index = (index - 1) // 2
        return proof

    def verify(self, leaf: int | Sequence[Any], proof: Sequence[str | bytes]) -> bool:
        value = self.at(leaf) if isinstance(leaf, int) else leaf
        return StandardMerkleTree.verify_proof(self.root, self.leaf_encoding, value, proof)

    @staticmethod
    def verify_proof(root: str | bytes, leaf_encoding: Sequence[str], value: Sequence[Any],
                     proof: Sequence[str | bytes]) -> bool:
        return process_proof(leaf_hash(leaf_encoding, value), proof) == _bytes(root)

    def dump(self) -> dict[str, Any]:
        """The JS library's `dump()` shape. Integers are written as decimal strings (JSON has no bigint)."""
        return {
            "format": FORMAT,
            "leafEncoding": self.leaf_encoding,
            "tree": [_hex(node) for node in self._tree],
            "values": [{"value": [_json_value(v) for v in value], "treeIndex": index}
                       for value, index in self._values],
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> StandardMerkleTree:
        """Read a dump (ours or the JS library's) and check every leaf and inner node."""
        if data.get("format") != FORMAT:
            raise MerkleTreeError(f"unknown Merkle tree format {data.get('format')!r}, expected {FORMAT!r}")
        encoding = list(data["leafEncoding"])
        tree = [_bytes(node) for node in data["tree"]]
        values = [(_from_json(entry["value"], encoding), int(entry["treeIndex"])) for entry in data["values"]]
        loaded = cls(tree, values, encoding)
        loaded.validate()
        return loaded

    def validate(self) -> None:
        for value, index in self._values:
            if not 0 <= index < len(self._tree) or self._tree[index] != leaf_hash(self.leaf_encoding, value):
                raise MerkleTreeError(f"the tree does not hold leaf {value!r} at index {index}")
        for i in range(len(self._tree)):
            if 2 * i + 2 < len(self._tree) and self._tree[i] != node_hash(self._tree[2 * i + 1],
                                                                          self._tree[2 * i + 2]):
                raise MerkleTreeError(f"inner node {i} is not the hash of its children: the tree is invalid")


def _json_value(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def _from_json(values: list[Any], encoding: list[str]) -> list[Any]:
    out: list[Any] = []
    for value, kind in zip(values, encoding, strict=True):
        if (kind.startswith("uint") or kind.startswith("int")) and not kind.endswith("]"):
            out.append(int(value, 0) if isinstance(value, str) else int(value))
        elif kind.startswith("bytes") and not kind.endswith("]") and isinstance(value, str):
            out.append(bytes.fromhex(value.removeprefix("0x")))
        else:
            out.append(value)
    return out
