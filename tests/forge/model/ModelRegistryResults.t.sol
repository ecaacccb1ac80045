// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {SubmittedJobFixtures} from "../utils/SubmittedJobFixtures.sol";

/// @notice Results past their window: finalization (live, or awaiting the owner), activation by the owner,
///         payouts, and the stake locks across the lifecycle.
contract ModelRegistryResultsTest is SubmittedJobFixtures {
    // ------------------------------------------------------------------ finalize

    function test_finalize_paysWorkerAndMakesModelLive() public {
        vm.warp(deadline + 1);
        vm.expectEmit(address(models));
        emit IModelRegistry.JobFinalized(jobId, modelId, worker, BOUNTY);
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelLive(modelId, jobId, worker, "bafyadapter");
        vm.prank(stranger);
        models.finalize(jobId);
        assertEq(uint8(_jobStatus(jobId)), uint8(IModelRegistry.JobStatus.Finalized));
        IModelRegistry.Model memory m = models.getModel(modelId);
        assertEq(uint8(m.status), uint8(IModelRegistry.ModelStatus.Live));
        assertEq(m.liveJobId, jobId);
        assertEq(m.computeProvider, worker);
        assertEq(m.adapterCid, "bafyadapter");
        assertTrue(models.isLive(modelId));
        assertEq(models.credited(worker), BOUNTY);
        assertEq(workers.lockedStake(worker), 0);
        assertEq(models.getJob(jobId).lockedStake, 0);
    }

    /// @dev A second result for `modelId`, trained by `trainer`, past its challenge window (the first
    ///      result, by `worker`, finalized and live).
    function _retrainedBy(address trainer) internal returns (uint256 second) {
        vm.warp(deadline + 1);
        models.finalize(jobId);
        if (!workers.isActiveWorker(trainer)) _registerWorker(trainer);
        second = _requestTraining(modelId);
        _claim(second, trainer);
        vm.prank(trainer);
        models.submitResult(second, "bafyadapter2", "m", keccak256("r2"), "r");
        vm.warp(block.timestamp + WINDOW + 1);
    }

    /// @dev v2: a retrained result of a model with an active provider waits for its owner.
    function test_finalize_retrainingAwaitsOwner() public {
        uint256 second = _retrainedBy(worker2);
        vm.expectEmit(address(models));
        emit IModelRegistry.JobFinalized(second, modelId, worker2, BOUNTY);
        vm.expectEmit(address(models));
        emit IModelRegistry.ResultAwaitingOwner(modelId, second, worker2);
        models.finalize(second);
        IModelRegistry.Model memory m = models.getModel(modelId);
        assertEq(m.liveJobId, jobId, "the live result stays until the owner switches");
        assertEq(m.computeProvider, worker);
        assertEq(m.adapterCid, "bafyadapter");
        assertEq(uint8(_jobStatus(second)), uint8(IModelRegistry.JobStatus.Finalized));
        assertEq(models.credited(worker2), BOUNTY, "the trainer is paid either way");
        assertEq(workers.lockedStake(worker2), 0);
    }

    function test_activateResult_switchesAdapterAndProvider() public {
        uint256 second = _retrainedBy(worker2);
        models.finalize(second);
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelLive(modelId, second, worker2, "bafyadapter2");
        vm.prank(modelOwner);
        models.activateResult(second);
        IModelRegistry.Model memory m = models.getModel(modelId);
        assertEq(m.liveJobId, second);
        assertEq(m.computeProvider, worker2);
        assertEq(m.adapterCid, "bafyadapter2");
        assertEq(models.computeProviderOf(modelId), worker2);
        // The owner may also go back to an earlier finalized result.
        vm.prank(modelOwner);
        models.activateResult(jobId);
        assertEq(models.getModel(modelId).computeProvider, worker);
        assertEq(models.getModel(modelId).adapterCid, "bafyadapter");
    }

    function test_activateResult_revertsForNonOwner() public {
        uint256 second = _retrainedBy(worker2);
        models.finalize(second);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotModelOwner.selector, modelId, worker2));
        vm.prank(worker2);
        models.activateResult(second);
        assertEq(models.computeProviderOf(modelId), worker);
    }

    function test_activateResult_revertsUnlessFinalized() public {
        uint256 open = _requestTraining(modelId);
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.InvalidJobStatus.selector, open, IModelRegistry.JobStatus.Open)
        );
        vm.prank(modelOwner);
        models.activateResult(open);
        _expectStatus(IModelRegistry.JobStatus.Submitted);
        vm.prank(modelOwner);
        models.activateResult(jobId);
        _challenge();
        _expectStatus(IModelRegistry.JobStatus.Challenged);
        vm.prank(modelOwner);
        models.activateResult(jobId);
    }

    function test_activateResult_revertsWhenAlreadyLive() public {
        vm.warp(deadline + 1);
        models.finalize(jobId);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.AlreadyLive.selector, modelId, jobId));
        vm.prank(modelOwner);
        models.activateResult(jobId);
    }

    function test_activateResult_revertsForUnknownJob() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 31));
        vm.prank(modelOwner);
        models.activateResult(31);
    }

    /// @dev A model whose provider is exiting has no active provider: the next result goes live.
    function test_finalize_goesLiveWhenProviderNoLongerActive() public {
        uint256 second = _retrainedBy(worker2);
        vm.prank(worker);
        workers.requestExit();
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelLive(modelId, second, worker2, "bafyadapter2");
        models.finalize(second);
        assertEq(models.computeProviderOf(modelId), worker2);
        assertEq(models.getModel(modelId).liveJobId, second);
    }

    /// @dev ... and so does a model whose provider the RewardVault revoked.
    function test_finalize_goesLiveWhenProviderRevoked() public {
        uint256 second = _retrainedBy(worker2);
        vm.prank(address(vault));
        models.revokeProvider(modelId, worker);
        models.finalize(second);
        assertEq(models.computeProviderOf(modelId), worker2);
        (bool servable,,,) = models.paymentTerms(modelId);
        assertTrue(servable);
    }

    function test_finalize_revertsDuringWindow() public {
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ChallengeWindowOpen.selector, jobId, deadline));
        models.finalize(jobId);
    }

    function test_finalize_revertsWhileChallengedOrTwice() public {
        _challenge();
        vm.warp(deadline + 1);
        _expectStatus(IModelRegistry.JobStatus.Challenged);
        models.finalize(jobId);
        _resolve(false);
        uint64 reopened = uint64(block.timestamp) + WINDOW;
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ChallengeWindowOpen.selector, jobId, reopened));
        models.finalize(jobId);
        vm.warp(reopened + 1);
        models.finalize(jobId);
        _expectStatus(IModelRegistry.JobStatus.Finalized);
        models.finalize(jobId);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 5));
        models.finalize(5);
    }

    // ------------------------------------------------------------------ withdraw

    function test_withdraw_paysCreditedBalance() public {
        vm.warp(deadline + 1);
        models.finalize(jobId);
        vm.expectEmit(address(models));
        emit IChallengeSettlement.Withdrawn(worker, BOUNTY);
        vm.prank(worker);
        models.withdraw();
        assertEq(models.credited(worker), 0);
        assertEq(token.balanceOf(worker), FUNDS - STAKE + BOUNTY);
        assertEq(token.balanceOf(address(models)), 0);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.NothingToWithdraw.selector, worker));
        vm.prank(worker);
        models.withdraw();
    }

    function test_withdrawFor_paysTheAccountNotTheCaller() public {
        _challenge();
        _resolve(false);
        vm.prank(stranger);
        models.withdrawFor(treasury);
        assertEq(token.balanceOf(treasury), BOND);
        assertEq(token.balanceOf(stranger), FUNDS);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.NothingToWithdraw.selector, treasury));
        models.withdrawFor(treasury);
    }

    // ------------------------------------------------------------------ stake locks across the lifecycle

    function test_workerCannotExitWithStakeBeforeFinalization() public {
        _expectExitBlockedByLocks(worker, _collateral(BOUNTY));
        // Finalization releases the lock; only then does the stake come back.
        models.finalize(jobId);
        vm.prank(worker);
        workers.withdrawStake();
        assertEq(token.balanceOf(worker), FUNDS);
    }

    function test_exitingWorkerIsStillSlashedWhenChallengeUpheld() public {
        vm.prank(worker);
        workers.requestExit();
        _challenge();
        vm.warp(block.timestamp + 7 days);
        vm.expectRevert(
            abi.encodeWithSelector(IWorkerRegistry.WorkerHasActiveLocks.selector, worker, _collateral(BOUNTY))
        );
        vm.prank(worker);
        workers.withdrawStake();
        _resolve(true);
        vm.prank(worker);
        workers.withdrawStake();
        assertEq(token.balanceOf(worker), FUNDS - SLASH);
    }

    function test_exitingWorkerGetsStakeBackAfterLapse() public {
        vm.prank(worker);
        workers.requestExit();
        _challenge();
        vm.warp(block.timestamp + RULING + 1);
        models.lapseChallenge(jobId);
        vm.prank(worker);
        workers.withdrawStake();
        assertEq(token.balanceOf(worker), FUNDS);
    }
}
