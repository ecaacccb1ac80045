// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {PaidPoolFixtures} from "../utils/PaidPoolFixtures.sol";

/// @notice Epoch roots: posting (provider, order, reservation, collateral) and finalization.
contract RewardVaultEpochsTest is PaidPoolFixtures {
    // ------------------------------------------------------------------ postEpochRoot

    function test_postEpochRoot_reservesAndLocks() public {
        uint64 deadline = uint64(block.timestamp) + WINDOW;
        uint256 collateral = 20 ether * COLLATERAL_BPS / 10_000;
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochPosted(modelId, 0, worker, ROOT, 20 ether, "bafyepochreport", deadline, collateral);
        _post(0, ROOT, 20 ether);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(e.root, ROOT);
        assertEq(e.total, 20 ether);
        assertEq(e.poster, worker);
        assertEq(e.lockedStake, collateral);
        assertEq(e.deadline, deadline);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.Posted));
        assertEq(e.claimed, 0);
        assertEq(e.dispute.challenger, address(0));
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, poolBalance - 20 ether);
        assertEq(reserved, 20 ether);
        assertEq(vault.nextEpoch(modelId), 1);
        assertEq(workers.lockedStake(worker), collateral);
        assertEq(collateral, 30 ether, "1.5x the total");
    }

    function test_postEpochRoot_collateralFollowsVaultRatio() public {
        vm.prank(gov);
        vault.setCollateralBps(10_000);
        _post(0, ROOT, 20 ether);
        assertEq(vault.getEpoch(modelId, 0).lockedStake, 20 ether);
        assertEq(workers.lockedStake(worker), 20 ether);
    }

    function test_postEpochRoot_wholePoolThenNothingMore() public {
        _post(0, ROOT, poolBalance);
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, 0);
        assertEq(reserved, poolBalance);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InsufficientPool.selector, modelId, 0, 1));
        _post(1, ROOT, 1);
    }

    function test_postEpochRoot_revertsWhenTotalExceedsPool() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.InsufficientPool.selector, modelId, poolBalance, poolBalance + 1)
        );
        _post(0, ROOT, poolBalance + 1);
    }

    function test_postEpochRoot_revertsWhenTotalExceedsAvailable() public {
        _post(0, ROOT, 30 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.InsufficientPool.selector, modelId, poolBalance - 30 ether, 30 ether)
        );
        _post(1, ROOT, 30 ether);
    }

    /// @dev The poster's free stake bounds what it may post: collateral comes from stake not yet locked.
    function test_postEpochRoot_revertsWithoutEnoughFreeStake() public {
        _post(0, ROOT, poolBalance); // locks 75 of 100
        _pay(100); // 50 more in the pool
        vm.expectRevert(
            abi.encodeWithSelector(IWorkerRegistry.InsufficientFreeStake.selector, worker, 25 ether, 30 ether)
        );
        _post(1, ROOT, 20 ether);
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, 50 ether, "nothing reserved by the failed post");
        assertEq(reserved, poolBalance);
        vm.prank(worker);
        workers.addStake(5 ether);
        _post(1, ROOT, 20 ether);
        assertEq(workers.freeStake(worker), 0);
    }

    function test_postEpochRoot_revertsOnRepost() public {
        _post(0, ROOT, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EpochAlreadyPosted.selector, modelId, 0));
        _post(0, keccak256("other"), 1 ether);
        vm.warp(block.timestamp + WINDOW + 1);
        vault.finalizeEpoch(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EpochAlreadyPosted.selector, modelId, 0));
        _post(0, ROOT, 1 ether);
    }

    function test_postEpochRoot_revertsOutOfOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EpochOutOfOrder.selector, modelId, 1, 0));
        _post(1, ROOT, 1 ether);
    }

    function test_postEpochRoot_revertsForNonProvider() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.NotComputeProvider.selector, modelId, stranger));
        vm.prank(stranger);
        vault.postEpochRoot(modelId, 0, ROOT, 1 ether, "bafy");
    }

    function test_postEpochRoot_revertsForModelWithoutProvider() public {
        uint256 registered = _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.NotComputeProvider.selector, registered, worker));
        vm.prank(worker);
        vault.postEpochRoot(registered, 0, ROOT, 1 ether, "bafy");
    }

    function test_postEpochRoot_revertsOnEmptyInputs() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EmptyField.selector, "root"));
        _post(0, bytes32(0), 1 ether);
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        _post(0, ROOT, 0);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EmptyField.selector, "reportCid"));
        vm.prank(worker);
        vault.postEpochRoot(modelId, 0, ROOT, 1 ether, "");
    }

    /// @dev v2: the provider must still be an active worker (not exiting, not below the minimum stake).
    function test_postEpochRoot_revertsForExitingProvider() public {
        vm.prank(worker);
        workers.requestExit();
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ProviderNotActive.selector, modelId, worker));
        _post(0, ROOT, 1 ether);
    }

    function test_postEpochRoot_revertsForProviderBelowMinimum() public {
        vm.prank(gov);
        workers.setMinWorkerStake(STAKE + 1);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ProviderNotActive.selector, modelId, worker));
        _post(0, ROOT, 1 ether);
        vm.prank(worker);
        workers.addStake(1);
        _post(0, ROOT, 1 ether);
    }

    function test_postEpochRoot_revertsWhenProviderLeftRegistry() public {
        vm.prank(worker);
        workers.requestExit();
        vm.warp(block.timestamp + 7 days);
        vm.prank(worker);
        workers.withdrawStake();
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ProviderNotActive.selector, modelId, worker));
        _post(0, ROOT, 1 ether);
    }

    // ------------------------------------------------------------------ finalizeEpoch

    function test_finalizeEpoch_afterWindowUnlocksAndOpensClaims() public {
        _post(0, ROOT, 10 ether);
        vm.warp(block.timestamp + WINDOW + 1);
        uint64 claimDeadline = uint64(block.timestamp) + CLAIM_PERIOD;
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochFinalized(modelId, 0, claimDeadline);
        vm.prank(stranger);
        vault.finalizeEpoch(modelId, 0);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.Finalized));
        assertEq(e.deadline, claimDeadline, "deadline is now the claim deadline");
        assertEq(e.lockedStake, 15 ether, "the record of what the root locked stays");
        assertEq(workers.lockedStake(worker), 0, "but it is released");
        (, uint256 reserved) = _pool();
        assertEq(reserved, 10 ether, "reserved until swept");
    }

    function test_finalizeEpoch_revertsDuringWindow() public {
        _post(0, ROOT, 10 ether);
        uint64 deadline = uint64(block.timestamp) + WINDOW;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ChallengeWindowOpen.selector, modelId, 0, deadline));
        vault.finalizeEpoch(modelId, 0);
    }

    function test_finalizeEpoch_revertsOnWrongStatus() public {
        _expectStatus(0, IRewardVault.EpochStatus.None);
        vault.finalizeEpoch(modelId, 0);
        _post(0, ROOT, 10 ether);
        _challenge(0);
        vm.warp(block.timestamp + WINDOW + 1);
        _expectStatus(0, IRewardVault.EpochStatus.Challenged);
        vault.finalizeEpoch(modelId, 0);
        _resolve(0, false);
        vm.warp(block.timestamp + WINDOW + 1);
        vault.finalizeEpoch(modelId, 0);
        _expectStatus(0, IRewardVault.EpochStatus.Finalized);
        vault.finalizeEpoch(modelId, 0);
    }

    function test_posterCannotWithdrawStakeWhileEpochOpen() public {
        _post(0, ROOT, 10 ether);
        _expectExitBlockedByLocks(worker, 15 ether);
        vault.finalizeEpoch(modelId, 0);
        vm.prank(worker);
        workers.withdrawStake();
    }
}
