// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {VaultFixtures} from "./VaultFixtures.sol";

/// @notice A live model whose pool holds 50 OPEN from 100 paid requests, and the epoch steps the epoch and
///         epoch-challenge suites take on it.
abstract contract PaidPoolFixtures is VaultFixtures {
    bytes32 internal constant ROOT = keccak256("root");
    uint256 internal poolBalance;

    function setUp() public virtual override {
        super.setUp();
        poolBalance = _pay(100); // 50 OPEN in the pool
    }

    function _challenge(uint64 epoch) internal {
        vm.prank(challenger);
        vault.challengeEpoch(modelId, epoch, "bafyreason");
    }

    function _resolve(uint64 epoch, bool upheld) internal {
        vm.prank(gov);
        vault.resolveEpochChallenge(modelId, epoch, upheld);
    }

    function _expectStatus(uint64 epoch, IRewardVault.EpochStatus status) internal {
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidEpochStatus.selector, modelId, epoch, status));
    }

    function _pool() internal view returns (uint256 available, uint256 reserved) {
        return vault.pool(modelId);
    }
}
