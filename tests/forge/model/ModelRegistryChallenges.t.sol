// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {ModelFixtures} from "../utils/ModelFixtures.sol";

/// @notice Results after submission: challenge, resolution, finalization, payouts, stake locks.
contract ModelRegistryChallengesTest is ModelFixtures {
    uint256 internal modelId;
    uint256 internal jobId;
    uint64 internal deadline;

    function setUp() public override {
        super.setUp();
        (modelId, jobId) = _submittedJob();
        deadline = models.getJob(jobId).challengeDeadline;
    }

    function _challenge() internal {
        vm.prank(challenger);
        models.challengeResult(jobId, "bafyreason");
    }

    function _resolve(bool upheld) internal {
        vm.prank(gov);
        models.resolveChallenge(jobId, upheld);
    }

    function _expectStatus(IModelRegistry.JobStatus status) internal {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.InvalidJobStatus.selector, jobId, status));
    }

    // ------------------------------------------------------------------ challengeResult

    function test_challengeResult_escrowsBond() public {
        vm.expectEmit(address(models));
        emit IModelRegistry.ResultChallenged(jobId, challenger, BOND, "bafyreason");
        _challenge();
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Challenged));
        assertEq(job.challenger, challenger);
        assertEq(job.challengeBond, BOND);
        assertEq(job.challengeReasonCid, "bafyreason");
        assertEq(token.balanceOf(address(models)), BOUNTY + BOND);
        assertEq(token.balanceOf(challenger), FUNDS - BOND);
    }

    function test_challengeResult_atDeadlineSecondSucceeds() public {
        vm.warp(deadline);
        _challenge();
        assertEq(uint8(_jobStatus(jobId)), uint8(IModelRegistry.JobStatus.Challenged));
    }

    function test_challengeResult_revertsAfterWindow() public {
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ChallengeWindowClosed.selector, jobId, deadline));
        _challenge();
    }

    function test_challengeResult_revertsWhenAlreadyChallenged() public {
        _challenge();
        _expectStatus(IModelRegistry.JobStatus.Challenged);
        vm.prank(stranger);
        models.challengeResult(jobId, "bafyother");
    }

    function test_challengeResult_revertsOnOpenJobAndUnknownJob() public {
        uint256 open = _requestTraining(modelId);
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.InvalidJobStatus.selector, open, IModelRegistry.JobStatus.Open)
        );
        vm.prank(challenger);
        models.challengeResult(open, "bafyreason");
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 99));
        vm.prank(challenger);
        models.challengeResult(99, "bafyreason");
    }

    function test_challengeResult_revertsOnEmptyReason() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.EmptyField.selector, "reasonCid"));
        vm.prank(challenger);
        models.challengeResult(jobId, "");
    }

    // ------------------------------------------------------------------ resolveChallenge

    function test_resolveChallenge_upheldSlashesAndReopens() public {
        _challenge();
        uint256 reward = SLASH * 5_000 / 10_000;
        vm.expectEmit(address(models));
        emit IModelRegistry.ChallengeResolved(jobId, true, challenger, worker, SLASH, BOND + reward, SLASH - reward);
        _resolve(true);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Open));
        assertEq(job.worker, address(0));
        assertEq(job.challenger, address(0));
        assertEq(job.challengeBond, 0);
        assertEq(job.challengeDeadline, 0);
        assertEq(bytes(job.result.adapterCid).length, 0);
        assertEq(job.result.attributionRoot, bytes32(0));
        assertEq(job.bounty, BOUNTY, "bounty stays escrowed for the next worker");
        assertEq(models.credited(challenger), BOND + reward);
        assertEq(models.credited(treasury), SLASH - reward);
        assertEq(_stakeOf(worker), STAKE - SLASH);
        assertEq(workers.activeLocks(worker), 0);
        assertEq(token.balanceOf(address(models)), BOUNTY + BOND + SLASH);
        assertFalse(models.isLive(modelId));
        // Another worker can take the job over.
        _registerWorker(worker2);
        _claim(jobId, worker2);
    }

    function test_resolveChallenge_upheldSlashIsCappedByStake() public {
        vm.prank(gov);
        models.setSlashAmount(STAKE * 3);
        _challenge();
        _resolve(true);
        assertEq(_stakeOf(worker), 0);
        uint256 reward = STAKE * 5_000 / 10_000;
        assertEq(models.credited(challenger), BOND + reward);
        assertEq(models.credited(treasury), STAKE - reward);
    }

    function test_resolveChallenge_upheldWithEmptyStakeStillReturnsBond() public {
        bytes32 role = workers.SLASHER_ROLE();
        vm.prank(gov);
        workers.grantRole(role, address(this));
        workers.slash(worker, STAKE, address(this));
        _challenge();
        vm.expectEmit(address(models));
        emit IModelRegistry.ChallengeResolved(jobId, true, challenger, worker, 0, BOND, 0);
        _resolve(true);
        assertEq(models.credited(challenger), BOND);
        assertEq(models.credited(treasury), 0);
        assertEq(workers.activeLocks(worker), 0);
    }

    function test_resolveChallenge_rejectedPaysTreasuryAndKeepsDeadline() public {
        _challenge();
        vm.expectEmit(address(models));
        emit IModelRegistry.ChallengeResolved(jobId, false, challenger, worker, 0, 0, BOND);
        _resolve(false);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Submitted));
        assertEq(job.challengeDeadline, deadline);
        assertEq(job.challenger, address(0));
        assertEq(job.worker, worker);
        assertEq(job.result.adapterCid, "bafyadapter");
        assertEq(models.credited(treasury), BOND);
        assertEq(_stakeOf(worker), STAKE);
        assertEq(workers.activeLocks(worker), 1);
        // A new challenge is possible within the same window, not after it.
        vm.prank(stranger);
        models.challengeResult(jobId, "bafyagain");
        _resolve(false);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ChallengeWindowClosed.selector, jobId, deadline));
        _challenge();
        models.finalize(jobId);
        assertTrue(models.isLive(modelId));
    }

    function test_resolveChallenge_revertsForNonGovernance() public {
        _challenge();
        bytes32 role = models.GOVERNANCE_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, challenger, role)
        );
        vm.prank(challenger);
        models.resolveChallenge(jobId, true);
    }

    function test_resolveChallenge_revertsWhenNotChallenged() public {
        _expectStatus(IModelRegistry.JobStatus.Submitted);
        _resolve(true);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 42));
        vm.prank(gov);
        models.resolveChallenge(42, false);
    }

    function testFuzz_resolveChallenge_payoutsConserveValue(uint256 slashAmount, uint16 bps, uint256 bond) public {
        slashAmount = bound(slashAmount, 1, STAKE * 2);
        bps = uint16(bound(bps, 0, 10_000));
        bond = bound(bond, 1, FUNDS);
        vm.startPrank(gov);
        models.setSlashAmount(slashAmount);
        models.setChallengerRewardBps(bps);
        models.setChallengeBond(bond);
        vm.stopPrank();
        _challenge();
        _resolve(true);
        uint256 slashed = slashAmount < STAKE ? slashAmount : STAKE;
        assertEq(models.credited(challenger) + models.credited(treasury), bond + slashed);
        assertEq(models.credited(challenger), bond + slashed * bps / 10_000);
        assertEq(token.balanceOf(address(models)), BOUNTY + bond + slashed);
        assertEq(_stakeOf(worker), STAKE - slashed);
    }

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
        assertEq(workers.activeLocks(worker), 0);
    }

    function test_finalize_retrainingReplacesLiveAdapter() public {
        vm.warp(deadline + 1);
        models.finalize(jobId);
        _registerWorker(worker2);
        uint256 second = _requestTraining(modelId);
        _claim(second, worker2);
        vm.prank(worker2);
        models.submitResult(second, "bafyadapter2", "m", keccak256("r2"), "r");
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(second);
        IModelRegistry.Model memory m = models.getModel(modelId);
        assertEq(m.liveJobId, second);
        assertEq(m.computeProvider, worker2);
        assertEq(m.adapterCid, "bafyadapter2");
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
        _expectExitBlockedByLocks(worker, 1);
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
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerHasActiveLocks.selector, worker, 1));
        vm.prank(worker);
        workers.withdrawStake();
        _resolve(true);
        vm.prank(worker);
        workers.withdrawStake();
        assertEq(token.balanceOf(worker), FUNDS - SLASH);
    }
}
