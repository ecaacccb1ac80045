// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {ModelFixtures} from "../utils/ModelFixtures.sol";

/// @notice A held lease: renew (capped at maxLeaseTime), release, submit (lease holder, before expiry, still an
///         active worker).
contract ModelRegistryLeasesTest is ModelFixtures {
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

    /// @dev Renewals never take one claim past claimedAt + maxLeaseTime.
    function test_renewLease_cappedAtMaxLeaseTime() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        uint64 claimedAt = uint64(block.timestamp);
        uint64 cap = claimedAt + MAX_LEASE;
        vm.warp(claimedAt + LEASE / 2);
        vm.prank(worker);
        models.renewLease(jobId); // to 1.5 days
        vm.warp(claimedAt + LEASE + LEASE / 2);
        vm.prank(worker);
        models.renewLease(jobId); // to 2.5 days
        assertEq(models.getJob(jobId).leaseExpiresAt, claimedAt + 2 * LEASE + LEASE / 2);
        vm.warp(claimedAt + 2 * LEASE + LEASE / 2); // now + LEASE would be 3.5 days: capped at 3
        vm.expectEmit(address(models));
        emit IModelRegistry.LeaseRenewed(jobId, worker, cap);
        vm.prank(worker);
        models.renewLease(jobId);
        assertEq(models.getJob(jobId).leaseExpiresAt, cap);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LeaseCapReached.selector, jobId, cap));
        vm.prank(worker);
        models.renewLease(jobId);
        // After the cap the lease expires like any other: another worker may take over.
        vm.warp(cap + 1);
        _claim(jobId, worker2);
        assertEq(models.getJob(jobId).worker, worker2);
    }

    function test_renewLease_maxLeaseTimeIsGovernanceSet() public {
        vm.prank(gov);
        models.setMaxLeaseTime(LEASE);
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        uint64 cap = uint64(block.timestamp) + LEASE;
        vm.warp(block.timestamp + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LeaseCapReached.selector, jobId, cap));
        vm.prank(worker);
        models.renewLease(jobId);
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
        assertEq(job.lockedStake, 0);
        assertEq(workers.lockedStake(worker), 0);
        _claim(jobId, worker2);
    }

    function test_releaseJob_allowedAfterExpiry() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.warp(block.timestamp + LEASE + 100);
        vm.prank(worker);
        models.releaseJob(jobId);
        assertEq(workers.lockedStake(worker), 0);
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
        assertEq(job.lockedStake, _collateral(BOUNTY));
        assertEq(workers.lockedStake(worker), _collateral(BOUNTY), "stake stays locked until finalization");
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

    /// @dev v2: a lease holder that asked to exit (or fell below the minimum stake) cannot post a result.
    function test_submitResult_revertsForInactiveWorker() public {
        uint256 jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        vm.prank(worker);
        workers.requestExit();
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotActiveWorker.selector, worker));
        _submit(jobId, worker);

        uint256 other = _requestTraining(modelId);
        _claim(other, worker2);
        vm.prank(gov);
        workers.setMinWorkerStake(STAKE + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotActiveWorker.selector, worker2));
        _submit(other, worker2);
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
