// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {ModelFixtures} from "../utils/ModelFixtures.sol";

/// @notice Training jobs up to submission: request, cancel, claim (and re-claim after expiry), renew,
///         release, submit.
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
        assertEq(token.balanceOf(address(models)), BOUNTY);
    }

    function test_requestTraining_anyoneMayFund() public {
        vm.prank(stranger);
        uint256 jobId = models.requestTraining(modelId, 1);
        assertEq(models.getJob(jobId).requester, stranger);
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
        assertEq(workers.activeLocks(worker), 1);
        vm.warp(block.timestamp + LEASE + 1);
        vm.expectEmit(address(models));
        emit IModelRegistry.JobCancelled(jobId, modelOwner, BOUNTY, worker);
        vm.prank(modelOwner);
        models.cancelJob(jobId);
        assertEq(workers.activeLocks(worker), 0);
        assertEq(models.getJob(jobId).worker, address(0));
        assertEq(token.balanceOf(modelOwner), FUNDS);
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
        vm.expectEmit(address(models));
        emit IModelRegistry.JobClaimed(jobId, worker, expires, address(0));
        _claim(jobId, worker);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Claimed));
        assertEq(job.worker, worker);
        assertEq(job.leaseExpiresAt, expires);
        assertEq(workers.activeLocks(worker), 1);
    }

    function test_claimJob_reclaimAfterExpiryMovesLock() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.warp(block.timestamp + LEASE + 1);
        vm.expectEmit(address(models));
        emit IModelRegistry.JobClaimed(jobId, worker2, uint64(block.timestamp) + LEASE, worker);
        _claim(jobId, worker2);
        assertEq(models.getJob(jobId).worker, worker2);
        assertEq(workers.activeLocks(worker), 0);
        assertEq(workers.activeLocks(worker2), 1);
        // The old holder lost the lease for good.
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotLeaseHolder.selector, jobId, worker));
        _submit(jobId, worker);
    }

    function test_claimJob_sameWorkerMayReclaimOwnExpiredLease() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.warp(block.timestamp + LEASE + 1);
        _claim(jobId, worker);
        assertEq(workers.activeLocks(worker), 1);
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

    // ------------------------------------------------------------------ renewLease

    function test_renewLease_extends() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.warp(block.timestamp + LEASE);
        uint64 expires = uint64(block.timestamp) + LEASE;
        vm.expectEmit(address(models));
        emit IModelRegistry.LeaseRenewed(jobId, worker, expires);
        vm.prank(worker);
        models.renewLease(jobId);
        assertEq(models.getJob(jobId).leaseExpiresAt, expires);
    }

    function test_renewLease_revertsAfterExpiry() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        uint64 expires = uint64(block.timestamp) + LEASE;
        vm.warp(expires + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LeaseExpired.selector, jobId, expires));
        vm.prank(worker);
        models.renewLease(jobId);
    }

    function test_renewLease_revertsForNonHolder() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotLeaseHolder.selector, jobId, worker2));
        vm.prank(worker2);
        models.renewLease(jobId);
    }

    function test_renewLease_revertsForExitingWorker() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.prank(worker);
        workers.requestExit();
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotActiveWorker.selector, worker));
        vm.prank(worker);
        models.renewLease(jobId);
    }

    function test_renewLease_revertsOnOpenOrUnknownJob() public {
        uint256 jobId = _requestTraining(modelId);
        _expectStatus(jobId, IModelRegistry.JobStatus.Open);
        vm.prank(worker);
        models.renewLease(jobId);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 7));
        vm.prank(worker);
        models.renewLease(7);
    }

    // ------------------------------------------------------------------ releaseJob

    function test_releaseJob_reopensAndUnlocks() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.expectEmit(address(models));
        emit IModelRegistry.JobReleased(jobId, worker);
        vm.prank(worker);
        models.releaseJob(jobId);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Open));
        assertEq(job.worker, address(0));
        assertEq(job.leaseExpiresAt, 0);
        assertEq(workers.activeLocks(worker), 0);
        _claim(jobId, worker2);
    }

    function test_releaseJob_allowedAfterExpiry() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.warp(block.timestamp + LEASE + 100);
        vm.prank(worker);
        models.releaseJob(jobId);
        assertEq(workers.activeLocks(worker), 0);
    }

    function test_releaseJob_revertsForNonHolder() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotLeaseHolder.selector, jobId, stranger));
        vm.prank(stranger);
        models.releaseJob(jobId);
    }

    function test_releaseJob_revertsOnWrongStatusOrUnknown() public {
        uint256 jobId = _requestTraining(modelId);
        _expectStatus(jobId, IModelRegistry.JobStatus.Open);
        vm.prank(worker);
        models.releaseJob(jobId);
        _claim(jobId, worker);
        _submit(jobId, worker);
        _expectStatus(jobId, IModelRegistry.JobStatus.Submitted);
        vm.prank(worker);
        models.releaseJob(jobId);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 0));
        models.releaseJob(0);
    }

    // ------------------------------------------------------------------ submitResult

    function test_submitResult_storesAndOpensWindow() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.warp(block.timestamp + 100);
        uint64 deadline = uint64(block.timestamp) + WINDOW;
        bytes32 root = keccak256("attribution");
        vm.expectEmit(address(models));
        emit IModelRegistry.ResultSubmitted(jobId, worker, "bafyadapter", "bafymetrics", root, "bafyreport", deadline);
        _submit(jobId, worker);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Submitted));
        assertEq(job.challengeDeadline, deadline);
        assertEq(job.result.adapterCid, "bafyadapter");
        assertEq(job.result.metricsCid, "bafymetrics");
        assertEq(job.result.attributionRoot, root);
        assertEq(job.result.reportCid, "bafyreport");
        assertEq(job.result.submittedAt, block.timestamp);
        assertEq(workers.activeLocks(worker), 1, "stake stays locked until finalization");
    }

    function test_submitResult_atLeaseExpirySecondSucceeds() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.warp(block.timestamp + LEASE);
        _submit(jobId, worker);
        assertEq(uint8(_jobStatus(jobId)), uint8(IModelRegistry.JobStatus.Submitted));
    }

    function test_submitResult_revertsAfterLeaseExpiry() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        uint64 expires = uint64(block.timestamp) + LEASE;
        vm.warp(expires + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LeaseExpired.selector, jobId, expires));
        _submit(jobId, worker);
    }

    function test_submitResult_revertsForNonHolder() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotLeaseHolder.selector, jobId, worker2));
        _submit(jobId, worker2);
    }

    function test_submitResult_revertsOnOpenOrUnknownJob() public {
        uint256 jobId = _requestTraining(modelId);
        _expectStatus(jobId, IModelRegistry.JobStatus.Open);
        _submit(jobId, worker);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 8));
        _submit(8, worker);
    }

    function test_submitResult_revertsOnEmptyFields() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        bytes32 root = keccak256("r");
        vm.startPrank(worker);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.EmptyField.selector, "adapterCid"));
        models.submitResult(jobId, "", "m", root, "r");
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.EmptyField.selector, "metricsCid"));
        models.submitResult(jobId, "a", "", root, "r");
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.EmptyField.selector, "attributionRoot"));
        models.submitResult(jobId, "a", "m", bytes32(0), "r");
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.EmptyField.selector, "reportCid"));
        models.submitResult(jobId, "a", "m", root, "");
        vm.stopPrank();
    }
}
