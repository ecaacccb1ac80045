// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MerkleHelper} from "../utils/MerkleHelper.sol";

/// @notice The Solidity test tree builder agrees with the OZ merkle-tree JS package
///         (StandardMerkleTree.of(values, ["uint256","address","uint256"]), v1.0.8, values
///         [index, account, amount]) and with OZ MerkleProof.
contract MerkleHelperTest is Test {
    function _vector() internal pure returns (address[] memory accs, uint256[] memory amts) {
        accs = new address[](3);
        amts = new uint256[](3);
        accs[0] = 0x1111111111111111111111111111111111111111;
        accs[1] = 0x2222222222222222222222222222222222222222;
        accs[2] = 0x3333333333333333333333333333333333333333;
        amts[0] = 5 ether;
        amts[1] = 2.5 ether;
        amts[2] = 1 ether;
    }

    function test_matchesJsStandardMerkleTree() public pure {
        (address[] memory accs, uint256[] memory amts) = _vector();
        bytes32[] memory leaves = MerkleHelper.leaves(accs, amts);
        assertEq(leaves[0], 0x006339a0971f8d293763c27967110607da32bf3548b17cce12da9fee72331612);
        assertEq(leaves[1], 0x191d0f7d65eab0fa6c201d27df14a838bda49373c2ccb0fa0263334fcebd4d0e);
        assertEq(leaves[2], 0x7fd1129b46d9dd97ceb54f70d3638b979dab2862fe5458fdaed4ad3b6c5ed5ba);
        bytes32[] memory tree = MerkleHelper.buildTree(leaves);
        assertEq(tree[0], 0x5ff7c67b5bba8cbb5120a8a81f95c4d34fea154590fa10c6e25686e31b472a33);
        bytes32[] memory proof = MerkleHelper.proof(tree, leaves[0]);
        assertEq(proof.length, 2);
        assertEq(proof[0], 0x191d0f7d65eab0fa6c201d27df14a838bda49373c2ccb0fa0263334fcebd4d0e);
        assertEq(proof[1], 0x7fd1129b46d9dd97ceb54f70d3638b979dab2862fe5458fdaed4ad3b6c5ed5ba);
        proof = MerkleHelper.proof(tree, leaves[2]);
        assertEq(proof.length, 1);
        assertEq(proof[0], 0xd16896c5291f22b49599c38d37d92f80f4819709ebdd22205a937f9c9ac5d13a);
    }

    /// @dev The index is part of the leaf: the same (account, amount) at another index is another leaf.
    function test_leafCommitsToIndex() public pure {
        address a = 0x1111111111111111111111111111111111111111;
        assertEq(MerkleHelper.leaf(0, a, 5 ether), 0x006339a0971f8d293763c27967110607da32bf3548b17cce12da9fee72331612);
        assertTrue(MerkleHelper.leaf(0, a, 5 ether) != MerkleHelper.leaf(1, a, 5 ether));
    }

    function test_singleLeafRootIsTheLeaf() public pure {
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = MerkleHelper.leaf(0, 0x1111111111111111111111111111111111111111, 5 ether);
        assertEq(MerkleHelper.root(leaves), 0x006339a0971f8d293763c27967110607da32bf3548b17cce12da9fee72331612);
    }

    function testFuzz_everyProofVerifiesWithOpenZeppelin(uint8 n, uint256 seed) public pure {
        n = uint8(bound(n, 1, 40));
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = keccak256(abi.encode(seed, i));
        }
        bytes32[] memory tree = MerkleHelper.buildTree(leaves);
        for (uint256 i = 0; i < n; i++) {
            bytes32[] memory proof = MerkleHelper.proof(tree, leaves[i]);
            assertTrue(MerkleProof.verify(proof, tree[0], leaves[i]));
            assertFalse(MerkleProof.verify(proof, tree[0], keccak256(abi.encode(leaves[i]))));
        }
    }
}
