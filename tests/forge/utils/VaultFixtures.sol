// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ModelFixtures} from "./ModelFixtures.sol";
import {MerkleHelper} from "./MerkleHelper.sol";

/// @notice ModelFixtures plus a Live model (compute provider `worker`) and helpers to fill its pool
///         and post / finalize epoch roots built with MerkleHelper (leaf i = (i, accounts[i], amounts[i])).
abstract contract VaultFixtures is ModelFixtures {
    uint256 internal modelId;

    function setUp() public virtual override {
        super.setUp();
        modelId = _liveModel();
    }

    /// @dev Pays `requests` inferences from `payer` at the current price; returns the contributors' share
    ///      that reached the pool's available balance.
    function _pay(uint256 requests) internal returns (uint256 contributorsShare) {
        (uint256 before,) = vault.pool(modelId);
        (, uint256 price,,) = models.paymentTerms(modelId);
        vm.prank(payer);
        vault.payForInference(modelId, requests, price, keccak256(abi.encode(requests)));
        (uint256 afterwards,) = vault.pool(modelId);
        contributorsShare = afterwards - before;
    }

    function _post(uint64 epoch, bytes32 root, uint256 total) internal {
        vm.prank(worker);
        vault.postEpochRoot(modelId, epoch, root, total, "bafyepochreport");
    }

    /// @dev Posts and finalizes `epoch` for the given leaves; returns the tree (for proofs).
    function _finalizedEpoch(uint64 epoch, address[] memory accounts, uint256[] memory amounts, uint256 total)
        internal
        returns (bytes32[] memory tree)
    {
        tree = MerkleHelper.buildTree(MerkleHelper.leaves(accounts, amounts));
        _post(epoch, tree[0], total);
        vm.warp(block.timestamp + WINDOW + 1);
        vault.finalizeEpoch(modelId, epoch);
    }

    /// @dev Proof of leaf (index, account, amount) in `tree`.
    function _proof(bytes32[] memory tree, uint256 index, address account, uint256 amount)
        internal
        pure
        returns (bytes32[] memory)
    {
        return MerkleHelper.proof(tree, MerkleHelper.leaf(index, account, amount));
    }

    function _sum(uint256[] memory amounts) internal pure returns (uint256 s) {
        for (uint256 i = 0; i < amounts.length; i++) {
            s += amounts[i];
        }
    }
}
