// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Epoch claim trees built in Solidity, laid out like OpenZeppelin's StandardMerkleTree for
///         ["uint256","address","uint256"] = (index, account, amount): double-hashed leaves, sorted by
///         hash and stored at the end of the array, node i with children 2i+1 / 2i+2, sorted-pair hashing.
///         Enough for the 1..4-leaf trees the security suites post as epoch roots.
library ClaimTree {
    /// @dev The leaf RewardVault verifies: keccak256(bytes.concat(keccak256(abi.encode(index, account, amount)))).
    function leaf(uint256 index, address account, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(index, account, amount))));
    }

    /// @dev Leaves for (i, accounts[i], amounts[i]), in input order.
    function leaves(address[] memory accounts, uint256[] memory amounts) internal pure returns (bytes32[] memory out) {
        require(accounts.length == amounts.length, "ClaimTree: length mismatch");
        out = new bytes32[](accounts.length);
        for (uint256 i = 0; i < accounts.length; i++) {
            out[i] = leaf(i, accounts[i], amounts[i]);
        }
    }

    /// @dev The whole tree (tree[0] is the root); 1..N distinct leaves.
    function build(bytes32[] memory leafHashes) internal pure returns (bytes32[] memory tree) {
        uint256 n = leafHashes.length;
        require(n > 0, "ClaimTree: no leaves");
        bytes32[] memory sorted = _sorted(leafHashes);
        tree = new bytes32[](2 * n - 1);
        for (uint256 i = 0; i < n; i++) {
            tree[tree.length - 1 - i] = sorted[i];
        }
        for (uint256 i = tree.length - n; i > 0; i--) {
            tree[i - 1] = _hashPair(tree[2 * i - 1], tree[2 * i]);
        }
    }

    /// @dev Bottom-up proof of `target` (a leaf hash in `tree`), as OZ's getProof.
    function proof(bytes32[] memory tree, bytes32 target) internal pure returns (bytes32[] memory path) {
        uint256 at = type(uint256).max;
        for (uint256 i = tree.length; i > 0; i--) {
            if (tree[i - 1] == target) {
                at = i - 1;
                break;
            }
        }
        require(at != type(uint256).max, "ClaimTree: leaf not in tree");
        uint256 depth = 0;
        for (uint256 i = at; i > 0; i = (i - 1) / 2) {
            depth++;
        }
        path = new bytes32[](depth);
        for (uint256 k = 0; k < depth; k++) {
            path[k] = tree[at % 2 == 1 ? at + 1 : at - 1];
            at = (at - 1) / 2;
        }
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
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
