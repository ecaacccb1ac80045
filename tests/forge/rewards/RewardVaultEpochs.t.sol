// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {VaultFixtures} from "../utils/VaultFixtures.sol";

/// @notice Epoch roots: posting (order, reservation, solvency), challenges, resolution, finalization.
contract RewardVaultEpochsTest is VaultFixtures {
    bytes32 internal constant ROOT = keccak256("root");
    uint256 internal poolBalance;

    function setUp() public override {
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

    // ------------------------------------------------------------------ postEpochRoot

    function test_postEpochRoot_reservesAndLocks() public {
        uint64 deadline = uint64(block.timestamp) + WINDOW;
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochPosted(modelId, 0, worker, ROOT, 20 ether, "bafyepochreport", deadline);
        _post(0, ROOT, 20 ether);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(e.root, ROOT);
        assertEq(e.total, 20 ether);
        assertEq(e.reportCid, "bafyepochreport");
        assertEq(e.poster, worker);
        assertEq(e.postedAt, block.timestamp);
        assertEq(e.challengeDeadline, deadline);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.Posted));
        assertEq(e.claimed, 0);
        (uint256 balance, uint256 reserved) = vault.pool(modelId);
        assertEq(balance, poolBalance);
        assertEq(reserved, 20 ether);
        assertEq(vault.nextEpoch(modelId), 1);
        assertEq(workers.activeLocks(worker), 1);
    }

    function test_postEpochRoot_wholePoolThenNothingMore() public {
        _post(0, ROOT, poolBalance);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InsufficientPool.selector, modelId, 0, 1));
        _post(1, ROOT, 1);
    }

    function test_postEpochRoot_revertsWhenTotalExceedsPool() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.InsufficientPool.selector, modelId, poolBalance, poolBalance + 1)
        );
        _post(0, ROOT, poolBalance + 1);
    }

    function test_postEpochRoot_revertsWhenTotalExceedsUnreserved() public {
        _post(0, ROOT, 30 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.InsufficientPool.selector, modelId, poolBalance - 30 ether, 30 ether)
        );
        _post(1, ROOT, 30 ether);
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

    function test_postEpochRoot_revertsForModelNotLive() public {
        uint256 registered = _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, registered));
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

    function test_postEpochRoot_revertsWhenProviderLeftRegistry() public {
        vm.prank(worker);
        workers.requestExit();
        vm.warp(block.timestamp + 7 days);
        vm.prank(worker);
        workers.withdrawStake();
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerNotRegistered.selector, worker));
        _post(0, ROOT, 1 ether);
    }

    // ------------------------------------------------------------------ challengeEpoch

    function test_challengeEpoch_escrowsBond() public {
        _post(0, ROOT, 10 ether);
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochChallenged(modelId, 0, challenger, BOND, "bafyreason");
        _challenge(0);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.Challenged));
        assertEq(e.challenger, challenger);
        assertEq(e.challengeBond, BOND);
        assertEq(token.balanceOf(address(vault)), 100 ether + BOND);
    }

    function test_challengeEpoch_revertsAfterWindow() public {
        _post(0, ROOT, 10 ether);
        uint64 deadline = uint64(block.timestamp) + WINDOW;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ChallengeWindowClosed.selector, modelId, 0, deadline));
        _challenge(0);
    }

    function test_challengeEpoch_revertsOnWrongStatus() public {
        _expectStatus(0, IRewardVault.EpochStatus.None);
        _challenge(0);
        _post(0, ROOT, 10 ether);
        _challenge(0);
        _expectStatus(0, IRewardVault.EpochStatus.Challenged);
        _challenge(0);
    }

    function test_challengeEpoch_revertsOnEmptyReason() public {
        _post(0, ROOT, 10 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EmptyField.selector, "reasonCid"));
        vm.prank(challenger);
        vault.challengeEpoch(modelId, 0, "");
    }

    // ------------------------------------------------------------------ resolveEpochChallenge

    function test_resolve_upheldReleasesDeletesAndSlashes() public {
        _post(0, ROOT, 10 ether);
        _challenge(0);
        uint256 reward = SLASH / 2;
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochChallengeResolved(modelId, 0, true, challenger, SLASH, BOND + reward, SLASH - reward);
        _resolve(0, true);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.None));
        assertEq(e.root, bytes32(0));
        (uint256 balance, uint256 reserved) = vault.pool(modelId);
        assertEq(balance, poolBalance);
        assertEq(reserved, 0);
        assertEq(vault.credited(challenger), BOND + reward);
        assertEq(vault.credited(treasury), 10 ether + SLASH - reward); // 10 ether fee share from setUp
        assertEq(_stakeOf(worker), STAKE - SLASH);
        assertEq(workers.activeLocks(worker), 0);
        assertEq(vault.nextEpoch(modelId), 1, "next epoch unchanged");
        // The freed epoch number can be posted again (the poster is still registered, stake 0).
        _post(0, keccak256("fixed"), 10 ether);
        assertEq(vault.getEpoch(modelId, 0).root, keccak256("fixed"));
    }

    function test_resolve_upheldOnOlderEpochAllowsRepostBehindNext() public {
        _post(0, ROOT, 10 ether);
        _post(1, ROOT, 10 ether);
        _challenge(0);
        _resolve(0, true);
        _post(0, keccak256("fixed"), 10 ether);
        assertEq(vault.nextEpoch(modelId), 2);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EpochOutOfOrder.selector, modelId, 3, 2));
        _post(3, ROOT, 1);
    }

    function test_resolve_rejectedPaysTreasuryAndRestoresPosted() public {
        _post(0, ROOT, 10 ether);
        uint64 deadline = vault.getEpoch(modelId, 0).challengeDeadline;
        _challenge(0);
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochChallengeResolved(modelId, 0, false, challenger, 0, 0, BOND);
        _resolve(0, false);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.Posted));
        assertEq(e.challengeDeadline, deadline);
        assertEq(e.challenger, address(0));
        assertEq(e.challengeBond, 0);
        assertEq(vault.credited(treasury), 10 ether + BOND);
        (, uint256 reserved) = vault.pool(modelId);
        assertEq(reserved, 10 ether);
        assertEq(workers.activeLocks(worker), 1);
    }

    function test_resolve_revertsForNonGovernance() public {
        _post(0, ROOT, 10 ether);
        _challenge(0);
        bytes32 role = vault.GOVERNANCE_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, worker, role));
        vm.prank(worker);
        vault.resolveEpochChallenge(modelId, 0, false);
    }

    function test_resolve_revertsWhenNotChallenged() public {
        _expectStatus(0, IRewardVault.EpochStatus.None);
        _resolve(0, true);
        _post(0, ROOT, 10 ether);
        _expectStatus(0, IRewardVault.EpochStatus.Posted);
        _resolve(0, true);
    }

    // ------------------------------------------------------------------ finalizeEpoch

    function test_finalizeEpoch_afterWindowUnlocks() public {
        _post(0, ROOT, 10 ether);
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochFinalized(modelId, 0);
        vm.prank(stranger);
        vault.finalizeEpoch(modelId, 0);
        assertEq(uint8(vault.getEpoch(modelId, 0).status), uint8(IRewardVault.EpochStatus.Finalized));
        assertEq(workers.activeLocks(worker), 0);
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
        vault.finalizeEpoch(modelId, 0);
        _expectStatus(0, IRewardVault.EpochStatus.Finalized);
        vault.finalizeEpoch(modelId, 0);
    }

    function test_posterCannotWithdrawStakeWhileEpochOpen() public {
        _post(0, ROOT, 10 ether);
        _expectExitBlockedByLocks(worker, 1);
        vault.finalizeEpoch(modelId, 0);
        vm.prank(worker);
        workers.withdrawStake();
    }
}
