// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MerkleHelper} from "../utils/MerkleHelper.sol";

/// @notice The Solidity test tree builder agrees with the OZ merkle-tree JS package
///         (StandardMerkleTree.of(values, ["address","uint256"]), v1.0.8) and with OZ MerkleProof.
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
        assertEq(leaves[0], 0xeb02c421cfa48976e66dfb29120745909ea3a0f843456c263cf8f1253483e283);
        assertEq(leaves[1], 0xb92c48e9d7abe27fd8dfd6b5dfdbfb1c9a463f80c712b66f3a5180a090cccafc);
        assertEq(leaves[2], 0xe4fc5b35ba4bd627dffb795fa4c398e7896386584837a8a23f7f3c9ab869b7cc);
        bytes32[] memory tree = MerkleHelper.buildTree(leaves);
        assertEq(tree[0], 0x1bc1c2bd927f8451332d9a50179032863d2cf0ffca6fcfec1b3e36e0f6260d3e);
        bytes32[] memory proof = MerkleHelper.proof(tree, leaves[1]);
        assertEq(proof.length, 2);
        assertEq(proof[0], 0xe4fc5b35ba4bd627dffb795fa4c398e7896386584837a8a23f7f3c9ab869b7cc);
        assertEq(proof[1], 0xeb02c421cfa48976e66dfb29120745909ea3a0f843456c263cf8f1253483e283);
        proof = MerkleHelper.proof(tree, leaves[0]);
        assertEq(proof.length, 1);
        assertEq(proof[0], 0x36a4737d5cf925b6a812d376c062ec9d663d9f18284285d3a3ffc62ab747ebbb);
    }

    function test_singleLeafRootIsTheLeaf() public pure {
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = MerkleHelper.leaf(0x1111111111111111111111111111111111111111, 5 ether);
        assertEq(MerkleHelper.root(leaves), 0xeb02c421cfa48976e66dfb29120745909ea3a0f843456c263cf8f1253483e283);
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
