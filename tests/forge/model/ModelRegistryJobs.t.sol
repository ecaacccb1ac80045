// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {ModelFixtures} from "../utils/ModelFixtures.sol";

/// @notice Training jobs up to the lease: approved requesters, request, cancel (also past the hard deadline),
///         claim (collateral locks, re-claim after expiry, hard deadline).
contract ModelRegistryJobsTest is ModelFixtures {
    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        _registerWorker(worker);
        _registerWorker(worker2);
        modelId = _registerModel();
    }

    function _expectStatus(uint256 jobId, IModelRegistry.JobStatus status) internal {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.InvalidJobStatus.selector, jobId, status));
    }

    function _approve(address account, bool approved) internal {
        vm.prank(modelOwner);
        models.setRequester(modelId, account, approved);
    }

    // ------------------------------------------------------------------ setRequester

    function test_setRequester_approvesAndRevokesAndEmits() public {
        assertTrue(models.isApprovedRequester(modelId, modelOwner), "the owner always may");
        assertFalse(models.isApprovedRequester(modelId, stranger));
        vm.expectEmit(address(models));
        emit IModelRegistry.RequesterSet(modelId, stranger, true);
        _approve(stranger, true);
        assertTrue(models.isApprovedRequester(modelId, stranger));
        vm.expectEmit(address(models));
        emit IModelRegistry.RequesterSet(modelId, stranger, false);
        _approve(stranger, false);
        assertFalse(models.isApprovedRequester(modelId, stranger));
    }

    function test_setRequester_isPerModel() public {
        uint256 other = _registerModel();
        _approve(stranger, true);
        assertTrue(models.isApprovedRequester(modelId, stranger));
        assertFalse(models.isApprovedRequester(other, stranger));
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotApprovedRequester.selector, other, stranger));
        vm.prank(stranger);
        models.requestTraining(other, BOUNTY);
    }

    function test_setRequester_revertsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, 9));
        vm.prank(modelOwner);
        models.setRequester(9, stranger, true);
    }

    function test_setRequester_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotModelOwner.selector, modelId, stranger));
        vm.prank(stranger);
        models.setRequester(modelId, stranger, true);
        assertFalse(models.isApprovedRequester(modelId, stranger));
    }

    function test_setRequester_revertsOnZeroAddress() public {
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        vm.prank(modelOwner);
        models.setRequester(modelId, address(0), true);
    }

    function test_isApprovedRequester_falseForUnknownModel() public view {
        assertFalse(models.isApprovedRequester(42, modelOwner));
        assertFalse(models.isApprovedRequester(42, address(0)));
    }

    // ------------------------------------------------------------------ requestTraining

    function test_requestTraining_escrowsBounty() public {
        vm.expectEmit(address(models));
        emit IModelRegistry.TrainingRequested(1, modelId, modelOwner, BOUNTY);
        uint256 jobId = _requestTraining(modelId);
        assertEq(jobId, 1);
        assertEq(models.jobCount(), 1);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(job.modelId, modelId);
        assertEq(job.requester, modelOwner);
        assertEq(job.bounty, BOUNTY);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Open));
        assertEq(job.requestedAt, block.timestamp);
        assertEq(job.worker, address(0));
        assertEq(job.lockedStake, 0);
        assertEq(token.balanceOf(address(models)), BOUNTY);
    }

    /// @dev v2: a stranger cannot post training for someone else's model (it would pick the next adapter).
    function test_requestTraining_revertsForStranger() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotApprovedRequester.selector, modelId, stranger));
        vm.prank(stranger);
        models.requestTraining(modelId, 1);
        assertEq(models.jobCount(), 0);
        assertEq(token.balanceOf(address(models)), 0);
    }

    function test_requestTraining_byApprovedRequester() public {
        _approve(stranger, true);
        vm.expectEmit(address(models));
        emit IModelRegistry.TrainingRequested(1, modelId, stranger, 1 ether);
        vm.prank(stranger);
        uint256 jobId = models.requestTraining(modelId, 1 ether);
        assertEq(models.getJob(jobId).requester, stranger);
        assertEq(token.balanceOf(stranger), FUNDS - 1 ether);
        // Revoked, it may not post more; its posted job stays its own to cancel.
        _approve(stranger, false);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotApprovedRequester.selector, modelId, stranger));
        vm.prank(stranger);
        models.requestTraining(modelId, 1 ether);
        vm.prank(stranger);
        models.cancelJob(jobId);
        assertEq(token.balanceOf(stranger), FUNDS);
    }

    function test_requestTraining_revertsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, 9));
        vm.prank(modelOwner);
        models.requestTraining(9, BOUNTY);
    }

    function test_requestTraining_revertsOnZeroBounty() public {
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        vm.prank(modelOwner);
        models.requestTraining(modelId, 0);
    }

    // ------------------------------------------------------------------ cancelJob

    function test_cancelJob_refundsOpenJob() public {
        uint256 jobId = _requestTraining(modelId);
        vm.expectEmit(address(models));
        emit IModelRegistry.JobCancelled(jobId, modelOwner, BOUNTY, address(0));
        vm.prank(modelOwner);
        models.cancelJob(jobId);
        assertEq(uint8(_jobStatus(jobId)), uint8(IModelRegistry.JobStatus.Cancelled));
        assertEq(models.getJob(jobId).bounty, 0);
        assertEq(token.balanceOf(modelOwner), FUNDS);
        assertEq(token.balanceOf(address(models)), 0);
    }

    function test_cancelJob_afterExpiredLeaseUnlocksWorker() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        assertEq(workers.lockedStake(worker), _collateral(BOUNTY));
        vm.warp(block.timestamp + LEASE + 1);
        vm.expectEmit(address(models));
        emit IModelRegistry.JobCancelled(jobId, modelOwner, BOUNTY, worker);
        vm.prank(modelOwner);
        models.cancelJob(jobId);
        assertEq(workers.lockedStake(worker), 0);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(job.worker, address(0));
        assertEq(job.lockedStake, 0);
        assertEq(token.balanceOf(modelOwner), FUNDS);
    }

    /// @dev Past the job's hard deadline a lease no longer protects the claim: the requester gets out.
    function test_cancelJob_pastHardDeadlineEvenWithActiveLease() public {
        uint256 jobId = _requestTraining(modelId);
        uint64 hardDeadline = uint64(block.timestamp) + JOB_DEADLINE;
        vm.warp(hardDeadline - 1 hours);
        _claim(jobId, worker);
        uint64 expires = models.getJob(jobId).leaseExpiresAt;
        assertGt(expires, hardDeadline);
        // Until the hard deadline the lease holds, and the error names the earlier of the two ends.
        vm.warp(hardDeadline);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LeaseStillActive.selector, jobId, hardDeadline));
        vm.prank(modelOwner);
        models.cancelJob(jobId);
        vm.warp(hardDeadline + 1);
        assertLe(block.timestamp, expires, "lease still running");
        vm.expectEmit(address(models));
        emit IModelRegistry.JobCancelled(jobId, modelOwner, BOUNTY, worker);
        vm.prank(modelOwner);
        models.cancelJob(jobId);
        assertEq(uint8(_jobStatus(jobId)), uint8(IModelRegistry.JobStatus.Cancelled));
        assertEq(workers.lockedStake(worker), 0);
        assertEq(token.balanceOf(modelOwner), FUNDS);
        // The worker lost the job: it cannot submit any more.
        _expectStatus(jobId, IModelRegistry.JobStatus.Cancelled);
        _submit(jobId, worker);
    }

    function test_cancelJob_revertsForUnknownJob() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 3));
        models.cancelJob(3);
    }

    function test_cancelJob_revertsForNonRequester() public {
        uint256 jobId = _requestTraining(modelId);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotRequester.selector, jobId, stranger));
        vm.prank(stranger);
        models.cancelJob(jobId);
    }

    function test_cancelJob_revertsWhileLeaseActive() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        uint64 expires = uint64(block.timestamp) + LEASE;
        vm.warp(expires);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LeaseStillActive.selector, jobId, expires));
        vm.prank(modelOwner);
        models.cancelJob(jobId);
    }

    function test_cancelJob_revertsAfterSubmissionOrCancel() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        _submit(jobId, worker);
        _expectStatus(jobId, IModelRegistry.JobStatus.Submitted);
        vm.prank(modelOwner);
        models.cancelJob(jobId);

        uint256 other = _requestTraining(modelId);
        vm.prank(modelOwner);
        models.cancelJob(other);
        _expectStatus(other, IModelRegistry.JobStatus.Cancelled);
        vm.prank(modelOwner);
        models.cancelJob(other);
    }

    // ------------------------------------------------------------------ claimJob

    function test_claimJob_takesLeaseAndLocksStake() public {
        uint256 jobId = _requestTraining(modelId);
        uint64 expires = uint64(block.timestamp) + LEASE;
        uint256 collateral = BOUNTY * COLLATERAL_BPS / 10_000;
        vm.expectEmit(address(models));
        emit IModelRegistry.JobClaimed(jobId, worker, expires, address(0), collateral);
        _claim(jobId, worker);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Claimed));
        assertEq(job.worker, worker);
        assertEq(job.claimedAt, block.timestamp);
        assertEq(job.leaseExpiresAt, expires);
        assertEq(job.lockedStake, collateral);
        assertEq(collateral, 75 ether, "1.5x the bounty");
        assertEq(workers.lockedStake(worker), collateral);
        assertEq(workers.freeStake(worker), STAKE - collateral);
    }

    /// @dev The free stake bounds what a worker can hold: a second claim needing more reverts.
    function test_claimJob_revertsWithoutEnoughFreeStake() public {
        uint256 first = _requestTraining(modelId);
        uint256 second = _requestTraining(modelId);
        _claim(first, worker);
        uint256 collateral = _collateral(BOUNTY);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWorkerRegistry.InsufficientFreeStake.selector, worker, STAKE - collateral, collateral
            )
        );
        _claim(second, worker);
        // More stake lets it back the second job too.
        vm.prank(worker);
        workers.addStake(collateral);
        _claim(second, worker);
        assertEq(workers.lockedStake(worker), 2 * collateral);
    }

    function test_claimJob_revertsWhenBountyNeedsMoreThanTheStake() public {
        vm.prank(modelOwner);
        uint256 big = models.requestTraining(modelId, STAKE);
        vm.expectRevert(
            abi.encodeWithSelector(IWorkerRegistry.InsufficientFreeStake.selector, worker, STAKE, STAKE * 3 / 2)
        );
        _claim(big, worker);
    }

    /// @dev The collateral is fixed at claim time: a later ratio change releases exactly what was locked.
    function test_claimJob_collateralFixedAtClaimTime() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.prank(gov);
        models.setCollateralBps(20_000);
        assertEq(models.getJob(jobId).lockedStake, BOUNTY * 15_000 / 10_000);
        vm.prank(worker);
        models.releaseJob(jobId);
        assertEq(workers.lockedStake(worker), 0);
        _claim(jobId, worker2);
        assertEq(workers.lockedStake(worker2), BOUNTY * 2);
        assertEq(models.getJob(jobId).lockedStake, BOUNTY * 2);
    }

    function test_claimJob_revertsAfterHardDeadline() public {
        uint256 jobId = _requestTraining(modelId);
        uint64 hardDeadline = uint64(block.timestamp) + JOB_DEADLINE;
        vm.warp(hardDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.JobDeadlinePassed.selector, jobId, hardDeadline));
        _claim(jobId, worker);
        assertEq(workers.lockedStake(worker), 0);
        // The requester takes its bounty back.
        vm.prank(modelOwner);
        models.cancelJob(jobId);
        assertEq(token.balanceOf(modelOwner), FUNDS);
    }

    function test_claimJob_atHardDeadlineSecondSucceeds() public {
        uint256 jobId = _requestTraining(modelId);
        vm.warp(block.timestamp + JOB_DEADLINE);
        _claim(jobId, worker);
        assertEq(models.getJob(jobId).worker, worker);
    }

    /// @dev An expired lease cannot be taken over once the job's hard deadline has passed either.
    function test_claimJob_reclaimRevertsAfterHardDeadline() public {
        uint256 jobId = _requestTraining(modelId);
        uint64 hardDeadline = uint64(block.timestamp) + JOB_DEADLINE;
        vm.warp(hardDeadline - LEASE);
        _claim(jobId, worker);
        vm.warp(hardDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.JobDeadlinePassed.selector, jobId, hardDeadline));
        _claim(jobId, worker2);
    }

    function test_claimJob_jobDeadlineIsGovernanceSet() public {
        vm.prank(gov);
        models.setJobDeadline(1 hours);
        uint256 jobId = _requestTraining(modelId);
        uint64 hardDeadline = uint64(block.timestamp) + 1 hours;
        vm.warp(hardDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.JobDeadlinePassed.selector, jobId, hardDeadline));
        _claim(jobId, worker);
    }

    function test_claimJob_reclaimAfterExpiryMovesLock() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.warp(block.timestamp + LEASE + 1);
        vm.expectEmit(address(models));
        emit IModelRegistry.JobClaimed(jobId, worker2, uint64(block.timestamp) + LEASE, worker, _collateral(BOUNTY));
        _claim(jobId, worker2);
        assertEq(models.getJob(jobId).worker, worker2);
        assertEq(workers.lockedStake(worker), 0);
        assertEq(workers.lockedStake(worker2), _collateral(BOUNTY));
        // The old holder lost the lease for good.
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotLeaseHolder.selector, jobId, worker));
        _submit(jobId, worker);
    }

    function test_claimJob_sameWorkerMayReclaimOwnExpiredLease() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.warp(block.timestamp + LEASE + 1);
        _claim(jobId, worker);
        assertEq(workers.lockedStake(worker), _collateral(BOUNTY), "locked once, not twice");
        assertEq(models.getJob(jobId).claimedAt, block.timestamp, "a new claim restarts the lease cap");
    }

    function test_claimJob_revertsForUnknownJob() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 1));
        _claim(1, worker);
    }

    function test_claimJob_revertsForUnregisteredWorker() public {
        uint256 jobId = _requestTraining(modelId);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotActiveWorker.selector, stranger));
        _claim(jobId, stranger);
    }

    function test_claimJob_revertsForExitingWorker() public {
        uint256 jobId = _requestTraining(modelId);
        vm.prank(worker);
        workers.requestExit();
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotActiveWorker.selector, worker));
        _claim(jobId, worker);
    }

    function test_claimJob_revertsWhileLeaseActive() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        uint64 expires = uint64(block.timestamp) + LEASE;
        vm.warp(expires); // still active at the expiry second itself
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LeaseStillActive.selector, jobId, expires));
        _claim(jobId, worker2);
    }

    function test_claimJob_revertsForSubmittedOrCancelled() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        _submit(jobId, worker);
        _expectStatus(jobId, IModelRegistry.JobStatus.Submitted);
        _claim(jobId, worker2);

        uint256 other = _requestTraining(modelId);
        vm.prank(modelOwner);
        models.cancelJob(other);
        _expectStatus(other, IModelRegistry.JobStatus.Cancelled);
        _claim(other, worker2);
    }
}
