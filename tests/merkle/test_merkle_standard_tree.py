"""worker.merkle.StandardMerkleTree against @openzeppelin/merkle-tree (root, every proof, the dump)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from worker.merkle import (
    CLAIM_LEAF,
    ClaimLeaf,
    ClaimTree,
    MerkleTreeError,
    StandardMerkleTree,
    leaf_hash,
    verify_claim,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oz_tree.mjs")
OZ_INSTALLED = (ROOT / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir()
needs_oz = pytest.mark.skipif(shutil.which("node") is None or not OZ_INSTALLED,
                              reason="node or @openzeppelin/merkle-tree missing (run `npm ci`)")


def oz_tree(encoding: list[str], values: list[list[Any]]) -> dict[str, Any]:
    payload = {"encoding": encoding,
               "values": [[str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in row]
                          for row in values]}
    done = subprocess.run(["node", str(SCRIPT)], input=json.dumps(payload), capture_output=True, text=True,
                          timeout=60, check=False, env={"OZ_MERKLE_ROOT": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def _rewards(n: int, seed: int) -> list[list[Any]]:
    rng = random.Random(seed)
    return [[_address(rng), rng.randrange(1, 10**24)] for _ in range(n)]


def _claims(n: int, seed: int) -> list[list[Any]]:
    """RewardVault claim leaves (index, account, amount), index 0..n-1."""
    return [[i, *row] for i, row in enumerate(_rewards(n, seed))]


def _contributions(n: int, seed: int) -> list[list[Any]]:
    rng = random.Random(seed)
    return [[i + 1, _address(rng), "bafkrei" + rng.randbytes(20).hex(), rng.randrange(1, 2**32)]
            for i in range(n)]


def _mixed(n: int, seed: int) -> list[list[Any]]:
    rng = random.Random(seed)
    return [["0x" + rng.randbytes(32).hex(), rng.random() < 0.5, rng.randrange(-(2**255), 2**255),
             "ünïcødé ✓ " * rng.randrange(0, 4)] for _ in range(n)]


CASES = [
    (["address", "uint256"], _rewards(1, 1)),
    (["address", "uint256"], _rewards(2, 2)),
    (["address", "uint256"], _rewards(3, 3)),
    (["address", "uint256"], _rewards(33, 4)),
    (list(CLAIM_LEAF), _claims(1, 12)),
    (list(CLAIM_LEAF), _claims(7, 13)),
    (list(CLAIM_LEAF), _claims(300, 14)),  # more leaves than one claimed-bitmap word
    (["uint256", "address", "string", "uint32"], _contributions(1, 5)),
    (["uint256", "address", "string", "uint32"], _contributions(6, 6)),
    (["uint256", "address", "string", "uint32"], _contributions(20, 7)),
    (["bytes32", "bool", "int256", "string"], _mixed(9, 8)),
]


@needs_oz
@pytest.mark.parametrize(("encoding", "values"), CASES, ids=[f"{'-'.join(e)}-{len(v)}" for e, v in CASES])
def test_root_proofs_and_dump_equal_openzeppelin(encoding: list[str], values: list[list[Any]]) -> None:
    ours = StandardMerkleTree.of(values, encoding)
    theirs = oz_tree(encoding, values)
    assert ours.root == theirs["root"]
    assert [ours.get_proof(i) for i in range(len(values))] == theirs["proofs"]
    assert ours.dump() == theirs["dump"]  # same JSON a wallet tool would load
    loaded = StandardMerkleTree.load(theirs["dump"])  # a JS dump loads and validates here
    assert loaded.root == ours.root
    for i, value in enumerate(values):
        assert StandardMerkleTree.verify_proof(theirs["root"], encoding, value, theirs["proofs"][i])


def test_root_does_not_depend_on_value_order() -> None:
    values = _rewards(10, 9)
    shuffled = values[:]
    random.Random(0).shuffle(shuffled)
    assert StandardMerkleTree.of(values, ["address", "uint256"]).root == \
        StandardMerkleTree.of(shuffled, ["address", "uint256"]).root


def test_proof_lookup_by_value_and_rejections() -> None:
    values = _rewards(5, 10)
    tree = StandardMerkleTree.of(values, ["address", "uint256"])
    assert tree.get_proof(values[3]) == tree.get_proof(3)
    assert tree.verify(3, tree.get_proof(3))
    assert not tree.verify(3, tree.get_proof(2))  # another leaf's proof
    wrong_amount = [values[3][0], values[3][1] + 1]
    proof = tree.get_proof(3)
    assert not StandardMerkleTree.verify_proof(tree.root, ["address", "uint256"], wrong_amount, proof)
    with pytest.raises(MerkleTreeError, match="not in the tree"):
        tree.get_proof(wrong_amount)
    with pytest.raises(MerkleTreeError, match="out of range"):
        tree.get_proof(5)


def test_invalid_inputs_and_tampered_dumps() -> None:
    with pytest.raises(MerkleTreeError, match="at least one leaf"):
        StandardMerkleTree.of([], ["address", "uint256"])
    with pytest.raises(MerkleTreeError, match="does not encode"):
        StandardMerkleTree.of([["not an address", 1]], ["address", "uint256"])
    with pytest.raises(MerkleTreeError, match="2 values for types"):
        leaf_hash(["address"], ["0x" + "11" * 20, 5])
    dump = StandardMerkleTree.of(_rewards(4, 11), ["address", "uint256"]).dump()
    dump["values"][0]["value"][1] = "12345"
    with pytest.raises(MerkleTreeError, match="does not hold leaf"):
        StandardMerkleTree.load(dump)
    dump = StandardMerkleTree.of(_rewards(4, 11), ["address", "uint256"]).dump()
    dump["tree"][0] = "0x" + "00" * 32
    with pytest.raises(MerkleTreeError, match="inner node 0"):
        StandardMerkleTree.load(dump)
    with pytest.raises(MerkleTreeError, match="unknown Merkle tree format"):
        StandardMerkleTree.load({**dump, "format": "simple-v1"})


@needs_oz
def test_claim_tree_is_the_openzeppelin_tree_of_indexed_leaves() -> None:
    entries = [(row[1], row[2]) for row in _claims(9, 15)]
    tree = ClaimTree.of(entries)
    theirs = oz_tree(list(CLAIM_LEAF), [[i, a, v] for i, (a, v) in enumerate(entries)])
    assert "0x" + tree.root.hex() == theirs["root"]
    assert [["0x" + node.hex() for node in tree.proof(i)] for i in range(len(entries))] == theirs["proofs"]


def test_claim_tree_leaves_proofs_and_rejections() -> None:
    entries = [(row[1], row[2]) for row in _claims(5, 16)]
    tree = ClaimTree.of(entries)
    leaf, proof = tree.proof_for(entries[3][0].upper().replace("0X", "0x"))  # any address spelling
    assert (leaf.index, leaf.amount) == (3, entries[3][1]) and verify_claim(tree.root, leaf, proof)
    assert tree.leaf(3) == leaf and len(tree) == 5
    assert not verify_claim(tree.root, ClaimLeaf(2, leaf.account, leaf.amount), proof)  # another index
    assert not verify_claim(tree.root, ClaimLeaf(3, leaf.account, leaf.amount + 1), proof)
    with pytest.raises(MerkleTreeError, match="has no leaf"):
        tree.leaf_of("0x" + "00" * 20)
    with pytest.raises(MerkleTreeError, match="out of range"):
        tree.leaf(5)
