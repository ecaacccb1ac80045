"""Merkle trees shared by dataset versions and reward epochs (OpenZeppelin StandardMerkleTree compatible)."""

from worker.merkle.claim_tree import CLAIM_LEAF, ClaimLeaf, ClaimTree, verify_claim
from worker.merkle.standard_tree import (
    MerkleTreeError,
    StandardMerkleTree,
    leaf_hash,
    node_hash,
    process_proof,
)

__all__ = [
    "CLAIM_LEAF",
    "ClaimLeaf",
    "ClaimTree",
    "MerkleTreeError",
    "StandardMerkleTree",
    "leaf_hash",
    "node_hash",
    "process_proof",
    "verify_claim",
]
