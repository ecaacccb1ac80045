// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {PaidPoolFixtures} from "../utils/PaidPoolFixtures.sol";

/// @notice Epoch challenges: challenge, resolution (upheld slashes and revokes the provider; rejected reopens
///         the window), lapse.
contract RewardVaultEpochChallengesTest is PaidPoolFixtures {
    /// @dev The model's owner has `trainer` retrain it; the model has no active provider, so the result
    ///      goes live with `trainer` as the new provider.
    function _reinstateWith(address trainer) internal {
        if (!workers.isActiveWorker(trainer)) _registerWorker(trainer);
        uint256 job = _requestTraining(modelId);
        _claim(job, trainer);
        _submit(job, trainer);
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(job);
        assertEq(models.computeProviderOf(modelId), trainer);
    }

    // ------------------------------------------------------------------ challengeEpoch

    function test_challengeEpoch_escrowsBond() public {
        _post(0, ROOT, 10 ether);
        uint64 rulingDeadline = uint64(block.timestamp) + RULING;
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochChallenged(modelId, 0, challenger, BOND, "bafyreason", rulingDeadline);
        _challenge(0);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.Challenged));
        assertEq(e.dispute.challenger, challenger);
        assertEq(e.dispute.bond, BOND);
        assertEq(e.dispute.rulingDeadline, rulingDeadline);
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

    function test_resolve_upheldReleasesDeletesSlashesAndRevokes() public {
        _post(0, ROOT, 10 ether);
        _challenge(0);
        uint256 reward = SLASH / 2;
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochChallengeResolved(modelId, 0, true, challenger, SLASH, BOND + reward, SLASH - reward);
        vm.expectEmit(address(models));
        emit IModelRegistry.ProviderRevoked(modelId, worker);
        _resolve(0, true);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.None));
        assertEq(e.root, bytes32(0));
        assertEq(e.lockedStake, 0);
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, poolBalance);
        assertEq(reserved, 0);
        assertEq(vault.credited(challenger), BOND + reward);
        assertEq(vault.credited(treasury), 10 ether + SLASH - reward); // 10 ether fee share from setUp
        assertEq(_stakeOf(worker), STAKE - SLASH);
        assertEq(workers.lockedStake(worker), 0);
        assertEq(vault.nextEpoch(modelId), 1, "next epoch unchanged");
        assertEq(token.balanceOf(address(vault)), 100 ether + BOND + SLASH);
        // The provider is revoked: it may neither post nor be paid for this model any more.
        assertEq(models.computeProviderOf(modelId), address(0));
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.NotComputeProvider.selector, modelId, worker));
        _post(0, keccak256("fixed"), 10 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, modelId));
        vm.prank(payer);
        vault.payForInference(modelId, 1, PRICE, bytes32(0));
        // Until the owner activates a new result: its provider may post the freed epoch number again.
        _reinstateWith(worker2);
        vm.prank(worker2);
        vault.postEpochRoot(modelId, 0, keccak256("fixed"), 10 ether, "bafyfixed");
        assertEq(vault.getEpoch(modelId, 0).root, keccak256("fixed"));
        assertEq(vault.getEpoch(modelId, 0).poster, worker2);
    }

    /// @dev The slash is max(slashAmount, collateral), capped by the stake.
    function test_resolve_upheldSlashesAtLeastTheCollateral() public {
        vm.prank(gov);
        vault.setSlashAmount(1 ether);
        _post(0, ROOT, 40 ether); // collateral 60
        _challenge(0);
        _resolve(0, true);
        assertEq(_stakeOf(worker), STAKE - 60 ether);
        assertEq(vault.credited(challenger), BOND + 30 ether);
        assertEq(workers.lockedStake(worker), 0);
    }

    function test_resolve_upheldOnOlderEpochAllowsRepostBehindNext() public {
        _post(0, ROOT, 10 ether);
        _post(1, ROOT, 10 ether);
        _challenge(0);
        _resolve(0, true);
        _reinstateWith(worker2);
        vm.prank(worker2);
        vault.postEpochRoot(modelId, 0, keccak256("fixed"), 10 ether, "bafyfixed");
        assertEq(vault.nextEpoch(modelId), 2);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EpochOutOfOrder.selector, modelId, 3, 2));
        vm.prank(worker2);
        vault.postEpochRoot(modelId, 3, ROOT, 1, "bafy");
        // The revoked poster's other epoch still finalizes on its own.
        vault.finalizeEpoch(modelId, 1);
        assertEq(uint8(vault.getEpoch(modelId, 1).status), uint8(IRewardVault.EpochStatus.Finalized));
    }

    /// @dev A struck-down poster must keep the rest of its stake locked behind its other open epochs.
    ///      With the default ratio, slashAmount 10 and epochs of 30 (collateral 45) and 20 (collateral 30):
    ///      the slash of 45 leaves 55, enough for the other epoch's 30.
    function test_resolve_upheldKeepsOtherEpochsCollateralLocked() public {
        vm.prank(gov);
        vault.setSlashAmount(10 ether);
        _post(0, ROOT, 30 ether);
        _post(1, keccak256("root1"), 20 ether);
        assertEq(workers.lockedStake(worker), 75 ether);
        _challenge(0);
        _resolve(0, true);
        assertEq(_stakeOf(worker), STAKE - 45 ether);
        assertEq(workers.lockedStake(worker), vault.getEpoch(modelId, 1).lockedStake, "epoch 1 lost its collateral");
        assertEq(workers.freeStake(worker), STAKE - 45 ether - 30 ether);
    }

    /// @dev The slash is capped by the stake the poster's other open epochs do not back: with the default
    ///      slashAmount (100), epochs of 30 (collateral 45) and 20 (collateral 30) and 25 free, upholding
    ///      epoch 0 takes 25 + 45 = 70 and leaves epoch 1's 30 locked.
    function test_resolve_upheldSlashCappedByStakeNotBackingOtherEpochs() public {
        _post(0, ROOT, 30 ether);
        _post(1, keccak256("root1"), 20 ether);
        _challenge(0);
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochChallengeResolved(modelId, 0, true, challenger, 70 ether, BOND + 35 ether, 35 ether);
        _resolve(0, true);
        assertEq(_stakeOf(worker), 30 ether);
        assertEq(workers.lockedStake(worker), 30 ether);
        // Epoch 1 still finalizes and releases exactly its own collateral.
        vm.warp(block.timestamp + WINDOW + 1);
        vault.finalizeEpoch(modelId, 1);
        assertEq(workers.lockedStake(worker), 0);
        assertEq(workers.freeStake(worker), 30 ether);
    }

    /// @dev v2: a rejected challenge reopens the window for a full window from the ruling.
    function test_resolve_rejectedPaysTreasuryAndReopensWindow() public {
        _post(0, ROOT, 10 ether);
        uint64 deadline = vault.getEpoch(modelId, 0).deadline;
        vm.warp(deadline);
        _challenge(0);
        vm.warp(block.timestamp + 1 hours);
        uint64 reopened = uint64(block.timestamp) + WINDOW;
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochChallengeResolved(modelId, 0, false, challenger, 0, 0, BOND);
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochChallengeWindowReopened(modelId, 0, reopened);
        _resolve(0, false);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.Posted));
        assertEq(e.deadline, reopened);
        assertEq(e.dispute.challenger, address(0));
        assertEq(e.dispute.bond, 0);
        assertEq(e.dispute.rulingDeadline, 0);
        assertEq(vault.credited(treasury), 10 ether + BOND);
        (, uint256 reserved) = _pool();
        assertEq(reserved, 10 ether);
        assertEq(workers.lockedStake(worker), 15 ether);
        assertEq(models.computeProviderOf(modelId), worker, "no revocation");
        // Someone else may challenge within the reopened window; finalization waits for it to pass.
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ChallengeWindowOpen.selector, modelId, 0, reopened));
        vault.finalizeEpoch(modelId, 0);
        vm.warp(reopened);
        vm.prank(stranger);
        vault.challengeEpoch(modelId, 0, "bafyagain");
        assertEq(uint8(vault.getEpoch(modelId, 0).status), uint8(IRewardVault.EpochStatus.Challenged));
    }

    function test_resolve_rejectedKeepsLaterOriginalDeadline() public {
        _post(0, ROOT, 10 ether);
        uint64 deadline = vault.getEpoch(modelId, 0).deadline;
        vm.prank(gov);
        vault.setChallengeWindow(1 hours);
        _challenge(0);
        _resolve(0, false);
        assertEq(vault.getEpoch(modelId, 0).deadline, deadline);
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

    // ------------------------------------------------------------------ lapseEpochChallenge

    function test_lapseEpochChallenge_voidsRootReturnsBondSlashesNobody() public {
        _post(0, ROOT, 10 ether);
        _challenge(0);
        uint64 rulingDeadline = uint64(block.timestamp) + RULING;
        vm.warp(rulingDeadline + 1);
        vm.expectEmit(address(vault));
        emit IChallengeSettlement.Credited(challenger, BOND, BOND);
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochChallengeLapsed(modelId, 0, challenger, worker, BOND);
        vm.prank(stranger);
        vault.lapseEpochChallenge(modelId, 0);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.None));
        assertEq(e.root, bytes32(0));
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, poolBalance);
        assertEq(reserved, 0);
        assertEq(vault.credited(challenger), BOND);
        assertEq(vault.credited(treasury), 10 ether, "only the fee share");
        assertEq(_stakeOf(worker), STAKE, "nobody slashed");
        assertEq(workers.lockedStake(worker), 0, "collateral released");
        assertEq(models.computeProviderOf(modelId), worker, "no revocation");
        // The epoch may be posted again, by the same provider.
        _post(0, keccak256("again"), 10 ether);
        assertEq(vault.getEpoch(modelId, 0).root, keccak256("again"));
    }

    function test_lapseEpochChallenge_revertsDuringRulingPeriod() public {
        _post(0, ROOT, 10 ether);
        _challenge(0);
        uint64 rulingDeadline = uint64(block.timestamp) + RULING;
        vm.warp(rulingDeadline);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.RulingPeriodActive.selector, rulingDeadline));
        vault.lapseEpochChallenge(modelId, 0);
        // Governance may still rule, even after the deadline, until someone lapses it.
        vm.warp(rulingDeadline + 1 days);
        _resolve(0, false);
        _expectStatus(0, IRewardVault.EpochStatus.Posted);
        vault.lapseEpochChallenge(modelId, 0);
    }

    function test_lapseEpochChallenge_revertsWhenNotChallenged() public {
        _expectStatus(0, IRewardVault.EpochStatus.None);
        vault.lapseEpochChallenge(modelId, 0);
        _post(0, ROOT, 10 ether);
        vm.warp(block.timestamp + RULING + 1);
        _expectStatus(0, IRewardVault.EpochStatus.Posted);
        vault.lapseEpochChallenge(modelId, 0);
    }
}
