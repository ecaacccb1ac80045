// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Builds OpenZeppelin StandardMerkleTree-compatible trees in Solidity tests: same leaf encoding
///         (double-hashed abi.encode(index, account, amount), as RewardVault's claim leaves), same layout (leaves sorted by hash, stored at the
///         end of the array, parents at i with children 2i+1 / 2i+2), same sorted-pair node hash. So the
///         roots equal those of the OZ merkle-tree JS package (checked against a JS vector in MerkleHelper.t.sol).
library MerkleHelper {
    /// @dev StandardMerkleTree leaf for ["uint256","address","uint256"]: (index, account, amount).
    function leaf(uint256 index, address account, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(index, account, amount))));
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev Leaves of the (account, amount) pairs, in input order; leaf i gets claim index i.
    function leaves(address[] memory accounts, uint256[] memory amounts) internal pure returns (bytes32[] memory out) {
        require(accounts.length == amounts.length, "MerkleHelper: length mismatch");
        out = new bytes32[](accounts.length);
        for (uint256 i = 0; i < accounts.length; i++) {
            out[i] = leaf(i, accounts[i], amounts[i]);
        }
    }

    /// @dev The whole tree as an array (tree[0] is the root). Needs 1..N distinct leaves.
    function buildTree(bytes32[] memory leafHashes) internal pure returns (bytes32[] memory tree) {
        uint256 n = leafHashes.length;
        require(n > 0, "MerkleHelper: no leaves");
        bytes32[] memory sorted = _sorted(leafHashes);
        tree = new bytes32[](2 * n - 1);
        for (uint256 i = 0; i < n; i++) {
            tree[tree.length - 1 - i] = sorted[i];
        }
        for (uint256 i = tree.length - n; i > 0; i--) {
            uint256 node = i - 1;
            tree[node] = hashPair(tree[2 * node + 1], tree[2 * node + 2]);
        }
    }

    function root(bytes32[] memory leafHashes) internal pure returns (bytes32) {
        return buildTree(leafHashes)[0];
    }

    /// @dev Proof for `target` (a leaf hash present in the tree), bottom-up like OZ's getProof.
    function proof(bytes32[] memory tree, bytes32 target) internal pure returns (bytes32[] memory path) {
        uint256 index = _indexOf(tree, target);
        uint256 depth = 0;
        for (uint256 i = index; i > 0; i = (i - 1) / 2) {
            depth++;
        }
        path = new bytes32[](depth);
        for (uint256 k = 0; k < depth; k++) {
            path[k] = tree[index % 2 == 1 ? index + 1 : index - 1];
            index = (index - 1) / 2;
        }
    }

    function _indexOf(bytes32[] memory tree, bytes32 target) private pure returns (uint256) {
        for (uint256 i = tree.length; i > 0; i--) {
            if (tree[i - 1] == target) return i - 1;
        }
        revert("MerkleHelper: leaf not in tree");
    }

    function _sorted(bytes32[] memory input) private pure returns (bytes32[] memory out) {
        out = new bytes32[](input.length);
        for (uint256 i = 0; i < input.length; i++) {
            bytes32 v = input[i];
            uint256 j = i;
            while (j > 0 && out[j - 1] > v) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = v;
        }
    }
}
