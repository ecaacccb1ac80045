// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {SubmittedJobFixtures} from "../utils/SubmittedJobFixtures.sol";

/// @notice Results under challenge: challenge, resolution (upheld: slash >= collateral, other locks kept;
///         rejected: the window reopens), lapse.
contract ModelRegistryChallengesTest is SubmittedJobFixtures {
    // ------------------------------------------------------------------ challengeResult

    function test_challengeResult_escrowsBond() public {
        uint64 rulingDeadline = uint64(block.timestamp) + RULING;
        vm.expectEmit(address(models));
        emit IModelRegistry.ResultChallenged(jobId, challenger, BOND, "bafyreason", rulingDeadline);
        _challenge();
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Challenged));
        assertEq(job.dispute.challenger, challenger);
        assertEq(job.dispute.bond, BOND);
        assertEq(job.dispute.rulingDeadline, rulingDeadline);
        assertEq(job.lockedStake, _collateral(BOUNTY), "the collateral stays locked while challenged");
        assertEq(token.balanceOf(address(models)), BOUNTY + BOND);
        assertEq(token.balanceOf(challenger), FUNDS - BOND);
    }

    function test_challengeResult_rulingPeriodIsGovernanceSet() public {
        vm.prank(gov);
        models.setRulingPeriod(2 hours);
        _challenge();
        assertEq(models.getJob(jobId).dispute.rulingDeadline, block.timestamp + 2 hours);
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
        assertEq(job.dispute.challenger, address(0));
        assertEq(job.dispute.bond, 0);
        assertEq(job.dispute.rulingDeadline, 0);
        assertEq(job.lockedStake, 0);
        assertEq(job.challengeDeadline, 0);
        assertEq(bytes(job.result.adapterCid).length, 0);
        assertEq(job.result.attributionRoot, bytes32(0));
        assertEq(job.bounty, BOUNTY, "bounty stays escrowed for the next worker");
        assertEq(models.credited(challenger), BOND + reward);
        assertEq(models.credited(treasury), SLASH - reward);
        assertEq(_stakeOf(worker), STAKE - SLASH);
        assertEq(workers.lockedStake(worker), 0);
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

    /// @dev The slash is max(slashAmount, collateral): a result controlling more value costs more.
    function test_resolveChallenge_upheldSlashesAtLeastTheCollateral() public {
        vm.prank(gov);
        models.setSlashAmount(1 ether);
        _challenge();
        uint256 collateral = _collateral(BOUNTY);
        uint256 reward = collateral / 2;
        vm.expectEmit(address(models));
        emit IModelRegistry.ChallengeResolved(
            jobId, true, challenger, worker, collateral, BOND + reward, collateral - reward
        );
        _resolve(true);
        assertEq(_stakeOf(worker), STAKE - collateral);
        assertEq(workers.lockedStake(worker), 0);
    }

    /// @dev The slash is capped by what the worker's other open work does not back (free stake + this
    ///      job's collateral): upholding job `other` (collateral 15) leaves job `jobId`'s 75 locked and whole.
    function test_resolveChallenge_upheldNeverTakesOtherWorksCollateral() public {
        vm.prank(modelOwner);
        uint256 other = models.requestTraining(modelId, 10 ether); // collateral 15 fits the 25 still free
        _claim(other, worker);
        _submit(other, worker);
        assertEq(workers.freeStake(worker), 10 ether);
        vm.prank(stranger);
        models.challengeResult(other, "bafyother");
        uint256 slashed = 10 ether + 15 ether; // free + its own collateral, below slashAmount (100)
        uint256 reward = slashed / 2;
        vm.expectEmit(address(models));
        emit IModelRegistry.ChallengeResolved(other, true, stranger, worker, slashed, BOND + reward, slashed - reward);
        vm.prank(gov);
        models.resolveChallenge(other, true);
        assertEq(_stakeOf(worker), STAKE - slashed);
        assertEq(workers.lockedStake(worker), _collateral(BOUNTY), "jobId keeps its collateral");
        assertEq(workers.freeStake(worker), 0);
        // Upholding jobId later still finds its whole collateral to slash.
        _challenge();
        _resolve(true);
        assertEq(_stakeOf(worker), 0);
        assertEq(workers.lockedStake(worker), 0);
        assertEq(models.credited(challenger), BOND + _collateral(BOUNTY) / 2);
    }

    /// @dev The struck job's collateral is released before the slash, so the worker's other jobs stay
    ///      backed by what is left: stake 100, jobs of 30 (collateral 45) and 20 (collateral 30), slash 45.
    function test_resolveChallenge_upheldKeepsOtherJobsCollateralLocked() public {
        vm.prank(gov);
        models.setSlashAmount(10 ether);
        vm.prank(modelOwner);
        uint256 a = models.requestTraining(modelId, 30 ether);
        vm.prank(modelOwner);
        uint256 b = models.requestTraining(modelId, 20 ether);
        _registerWorker(worker2);
        _claim(a, worker2);
        _claim(b, worker2);
        _submit(a, worker2);
        assertEq(workers.lockedStake(worker2), 75 ether);
        vm.prank(challenger);
        models.challengeResult(a, "bafyreason");
        vm.prank(gov);
        models.resolveChallenge(a, true);
        assertEq(_stakeOf(worker2), STAKE - 45 ether);
        assertEq(workers.lockedStake(worker2), models.getJob(b).lockedStake, "job b lost its collateral");
        assertEq(workers.freeStake(worker2), STAKE - 45 ether - 30 ether);
        // It cannot leave with the stake that backs job b.
        _expectExitBlockedByLocks(worker2, 30 ether);
    }

    /// @dev Locks stay exact across an upheld challenge: releasing the worker's other job B later releases
    ///      B's collateral only, never the collateral of a job C claimed after the slash.
    function test_collateralReleasedLaterKeepsNewerClaimLocked() public {
        vm.prank(modelOwner);
        uint256 b = models.requestTraining(modelId, 10 ether); // collateral 15 fits the 25 still free
        _claim(b, worker);
        _challenge();
        _resolve(true); // slashes free 10 + jobId's 75; B's 15 stays locked
        assertEq(_stakeOf(worker), 15 ether);
        assertEq(workers.lockedStake(worker), 15 ether);
        vm.prank(worker);
        workers.addStake(STAKE);
        vm.prank(modelOwner);
        uint256 c = models.requestTraining(modelId, 10 ether);
        _claim(c, worker);
        assertEq(workers.lockedStake(worker), 30 ether);
        vm.prank(worker);
        models.releaseJob(b);
        assertEq(workers.lockedStake(worker), models.getJob(c).lockedStake, "job c lost its collateral");
        _expectExitBlockedByLocks(worker, 15 ether);
    }

    /// @dev v2: a rejected challenge reopens the window for a full window from the ruling, so a squatting
    ///      challenge (e.g. the poster's own second account) cannot run the clock out.
    function test_resolveChallenge_rejectedPaysTreasuryAndReopensWindow() public {
        vm.warp(deadline - 1 hours);
        _challenge();
        vm.warp(block.timestamp + 3 hours); // ruled after the original deadline
        uint64 reopened = uint64(block.timestamp) + WINDOW;
        vm.expectEmit(address(models));
        emit IModelRegistry.ChallengeResolved(jobId, false, challenger, worker, 0, 0, BOND);
        vm.expectEmit(address(models));
        emit IModelRegistry.ChallengeWindowReopened(jobId, reopened);
        _resolve(false);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Submitted));
        assertEq(job.challengeDeadline, reopened);
        assertEq(job.dispute.challenger, address(0));
        assertEq(job.dispute.bond, 0);
        assertEq(job.dispute.rulingDeadline, 0);
        assertEq(job.worker, worker);
        assertEq(job.result.adapterCid, "bafyadapter");
        assertEq(models.credited(treasury), BOND);
        assertEq(_stakeOf(worker), STAKE);
        assertEq(workers.lockedStake(worker), _collateral(BOUNTY));
        // An honest challenger still gets its turn in the reopened window, not after it.
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ChallengeWindowOpen.selector, jobId, reopened));
        models.finalize(jobId);
        vm.warp(reopened);
        vm.prank(stranger);
        models.challengeResult(jobId, "bafyagain");
        _resolve(false);
        uint64 reopenedAgain = models.getJob(jobId).challengeDeadline;
        assertEq(reopenedAgain, reopened + WINDOW);
        vm.warp(reopenedAgain + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ChallengeWindowClosed.selector, jobId, reopenedAgain));
        _challenge();
        models.finalize(jobId);
        assertTrue(models.isLive(modelId));
        assertEq(models.credited(treasury), 2 * BOND);
    }

    /// @dev The reopened deadline is never earlier than the original one.
    function test_resolveChallenge_rejectedKeepsLaterOriginalDeadline() public {
        vm.prank(gov);
        models.setChallengeWindow(1 hours); // later results get shorter windows; this one keeps its day
        _challenge();
        vm.expectEmit(address(models));
        emit IModelRegistry.ChallengeWindowReopened(jobId, deadline);
        _resolve(false);
        assertEq(models.getJob(jobId).challengeDeadline, deadline);
    }

    /// @dev Governance may still rule after the ruling deadline, as long as nobody lapsed the challenge.
    function test_resolveChallenge_afterRulingDeadlineUntilLapsed() public {
        _challenge();
        vm.warp(block.timestamp + RULING + 1 days);
        _resolve(true);
        assertEq(_stakeOf(worker), STAKE - SLASH);
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.InvalidJobStatus.selector, jobId, IModelRegistry.JobStatus.Open)
        );
        models.lapseChallenge(jobId);
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
        uint256 collateral = _collateral(BOUNTY);
        uint256 slashed = slashAmount > collateral ? slashAmount : collateral;
        if (slashed > STAKE) slashed = STAKE;
        assertEq(models.credited(challenger) + models.credited(treasury), bond + slashed);
        assertEq(models.credited(challenger), bond + slashed * bps / 10_000);
        assertEq(token.balanceOf(address(models)), BOUNTY + bond + slashed);
        assertEq(_stakeOf(worker), STAKE - slashed);
        assertEq(workers.lockedStake(worker), 0);
    }

    // ------------------------------------------------------------------ lapseChallenge

    function test_lapseChallenge_voidsResultReturnsBondSlashesNobody() public {
        _challenge();
        uint64 rulingDeadline = uint64(block.timestamp) + RULING;
        vm.warp(rulingDeadline + 1);
        vm.expectEmit(address(models));
        emit IChallengeSettlement.Credited(challenger, BOND, BOND);
        vm.expectEmit(address(models));
        emit IModelRegistry.ChallengeLapsed(jobId, challenger, worker, BOND);
        vm.prank(stranger);
        models.lapseChallenge(jobId);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Open));
        assertEq(job.worker, address(0));
        assertEq(job.lockedStake, 0);
        assertEq(job.challengeDeadline, 0);
        assertEq(job.dispute.challenger, address(0));
        assertEq(job.dispute.bond, 0);
        assertEq(bytes(job.result.adapterCid).length, 0);
        assertEq(job.bounty, BOUNTY, "bounty stays escrowed for the next worker");
        assertEq(models.credited(challenger), BOND);
        assertEq(models.credited(treasury), 0);
        assertEq(models.credited(worker), 0);
        assertEq(_stakeOf(worker), STAKE, "nobody slashed");
        assertEq(workers.lockedStake(worker), 0, "collateral released");
        assertEq(token.balanceOf(address(models)), BOUNTY + BOND);
        assertFalse(models.isLive(modelId));
        // The job is Open again and, its hard deadline being longer than a lease, a challenge window and a
        // ruling period together, the next worker can still claim it.
        assertLt(block.timestamp, models.getJob(jobId).requestedAt + JOB_DEADLINE);
        _registerWorker(worker2);
        _claim(jobId, worker2);
        assertEq(models.getJob(jobId).worker, worker2);
    }

    /// @dev With a short ruling period the voided job is claimable again before its hard deadline.
    function test_lapseChallenge_jobClaimableAgainBeforeHardDeadline() public {
        vm.prank(gov);
        models.setRulingPeriod(1 days);
        _challenge();
        vm.warp(block.timestamp + 1 days + 1);
        models.lapseChallenge(jobId);
        _registerWorker(worker2);
        _claim(jobId, worker2);
        assertEq(models.getJob(jobId).worker, worker2);
        assertEq(workers.lockedStake(worker2), _collateral(BOUNTY));
    }

    function test_lapseChallenge_revertsDuringRulingPeriod() public {
        _challenge();
        uint64 rulingDeadline = uint64(block.timestamp) + RULING;
        vm.warp(rulingDeadline); // the deadline second itself still belongs to governance
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.RulingPeriodActive.selector, rulingDeadline));
        models.lapseChallenge(jobId);
        assertEq(uint8(_jobStatus(jobId)), uint8(IModelRegistry.JobStatus.Challenged));
    }

    function test_lapseChallenge_revertsWhenNotChallenged() public {
        _expectStatus(IModelRegistry.JobStatus.Submitted);
        models.lapseChallenge(jobId);
        _challenge();
        _resolve(false);
        vm.warp(block.timestamp + RULING + 1);
        _expectStatus(IModelRegistry.JobStatus.Submitted);
        models.lapseChallenge(jobId);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 77));
        models.lapseChallenge(77);
    }

    function test_lapseChallenge_thenRulingIsTooLate() public {
        _challenge();
        vm.warp(block.timestamp + RULING + 1);
        models.lapseChallenge(jobId);
        _expectStatus(IModelRegistry.JobStatus.Open);
        _resolve(true);
    }
}
