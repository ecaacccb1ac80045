// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SecurityBase} from "./SecurityBase.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";

/// @notice Attacks found in an adversarial review of the v2 contracts (issue 12), each shown failing, and
///         non-obvious safe behaviours pinned.
contract ReviewTest is SecurityBase {
    // ------------------------------------------------------------------ a revoked provider stays out

    /// Attack: "a provider caught posting a false root serves this model no more until its owner says so".
    /// The revoked provider keeps a result pending on the same model (any active worker may claim an
    /// owner-requested job); once it is revoked the model has no active provider, and `finalize` (callable
    /// by anyone) would put it straight back. It does not: the result waits for the owner.
    function test_RevokedProviderIsNotReseatedByFinalizeWithoutOwner() public {
        uint256 m = _newModelServedBy(attacker);
        _fillPool(m, 20 ether);
        // The owner asks for a retraining; the attacker (still the provider) claims and submits it.
        uint256 jobId = _submittedJob(m, modelOwner, attacker, BOUNTY);
        // Meanwhile the attacker posts a false root paying itself; an honest challenger wins.
        uint64 epoch = _post(m, attacker, _rootOne(attacker, 20 ether), 20 ether);
        vm.prank(challenger);
        vault.challengeEpoch(m, epoch, "bafy-false-root");
        vault.resolveEpochChallenge(m, epoch, true);
        assertEq(models.computeProviderOf(m), address(0), "revoked");
        assertTrue(workers.isActiveWorker(attacker), "slashed by the floor only, still active");

        // Anyone finalizes the attacker's pending job: it waits for the owner instead of going live.
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectEmit(address(models));
        emit IModelRegistry.ResultAwaitingOwner(m, jobId, attacker);
        vm.prank(stranger);
        models.finalize(jobId);
        assertEq(models.computeProviderOf(m), address(0), "revoked provider re-seated without the owner");
        assertTrue(models.isRevokedProvider(m, attacker));
        // Only the owner can take it back; doing so clears the mark.
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotModelOwner.selector, m, stranger));
        models.activateResult(jobId);
        vm.prank(modelOwner);
        models.activateResult(jobId);
        assertEq(models.computeProviderOf(m), attacker);
        assertFalse(models.isRevokedProvider(m, attacker));
    }

    /// Same attack, no pre-positioning: after revocation the struck-down provider claims a job the owner
    /// left Open (e.g. one meant for someone else) and submits; at finalize it does not become provider
    /// again, and the model keeps refusing payments.
    function test_RevokedProviderClaimsOpenOwnerJobButDoesNotServeAgain() public {
        uint256 m = _newModelServedBy(attacker);
        vm.prank(modelOwner);
        uint256 openJob = models.requestTraining(m, BOUNTY); // left Open
        _fillPool(m, 20 ether);
        uint64 epoch = _post(m, attacker, _rootOne(attacker, 20 ether), 20 ether);
        vm.prank(challenger);
        vault.challengeEpoch(m, epoch, "bafy-false-root");
        vault.resolveEpochChallenge(m, epoch, true);
        assertEq(models.computeProviderOf(m), address(0), "revoked");

        vm.startPrank(attacker);
        models.claimJob(openJob);
        models.submitResult(openJob, "bafy-junk", "bafy-m", keccak256("junk"), "bafy-r");
        vm.stopPrank();
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(openJob);
        assertEq(models.computeProviderOf(m), address(0), "revoked provider serves again");
        (bool servable,,,) = models.paymentTerms(m);
        assertFalse(servable, "model takes payments that credit the revoked provider");
    }

    // ------------------------------------------------------------------ pinned safe behaviour (PASS)

    /// Race: the owner moves to a new provider before the old provider's false root is ruled on; the
    /// ruling slashes the old poster but must not unseat the new provider.
    function test_LateRulingOnOldProvidersRootDoesNotUnseatNewProvider() public {
        _fillPool(modelId, 50 ether);
        uint64 epoch = _post(modelId, honest, _rootOne(honest, 50 ether), 50 ether);
        vm.prank(challenger);
        vault.challengeEpoch(modelId, epoch, "bafy-false");
        _serve(modelId, worker2); // owner activates worker2's result
        uint256 stakeBefore = workers.stakeOf(honest);
        vault.resolveEpochChallenge(modelId, epoch, true);
        assertEq(models.computeProviderOf(modelId), worker2, "new provider kept");
        assertEq(stakeBefore - workers.stakeOf(honest), SLASH_FLOOR, "old poster slashed max(floor, 75)");
        assertEq(workers.lockedStake(honest), 0);
        assertEq(_available(modelId), 50 ether, "total back to the pool");
        // The new provider re-posts the struck epoch number.
        vm.prank(worker2);
        vault.postEpochRoot(modelId, epoch, _rootOne(contributor, 50 ether), 50 ether, "bafy-honest");
        assertEq(_reserved(modelId), 50 ether);
    }

    /// Slash of one job never strips the collateral of the worker's other open work, even when the stake
    /// is nearly all locked: the other lock can still be released exactly.
    function test_UpheldJobSlashLeavesOtherLocksWhole() public {
        // attacker: 300 stake. Job A locks 150 (bounty 100), job B locks 120 (bounty 80): free 30.
        uint256 a = _submittedJob(modelId, modelOwner, attacker, 100 ether);
        uint256 b = _submittedJob(modelId, modelOwner, attacker, 80 ether);
        assertEq(workers.lockedStake(attacker), 270 ether);
        vm.prank(challenger);
        models.challengeResult(a, "bafy-bad");
        models.resolveChallenge(a, true);
        // slash = max(100, 150) = 150, capped by free(30) + 150 = 180 -> 150.
        assertEq(workers.stakeOf(attacker), 150 ether);
        assertEq(workers.lockedStake(attacker), 120 ether, "job B still fully backed");
        assertEq(models.credited(challenger), BOND + 75 ether);
        assertEq(models.credited(treasury), 75 ether);
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(b);
        assertEq(workers.lockedStake(attacker), 0);
        assertEq(models.credited(attacker), 80 ether);
    }

    /// Claims cannot happen after a sweep, and a swept epoch cannot be re-posted.
    function test_NoClaimOrRepostAfterSweep() public {
        _fillPool(modelId, 10 ether);
        uint64 epoch = _post(modelId, honest, _rootOne(contributor, 10 ether), 10 ether);
        vm.warp(block.timestamp + WINDOW + 1);
        vault.finalizeEpoch(modelId, epoch);
        vm.warp(block.timestamp + CLAIM_PERIOD + 1);
        vault.sweepEpoch(modelId, epoch);
        assertEq(_available(modelId), 10 ether);
        assertEq(_reserved(modelId), 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardVault.InvalidEpochStatus.selector, modelId, epoch, IRewardVault.EpochStatus.Swept
            )
        );
        vault.claim(modelId, epoch, 0, contributor, 10 ether, new bytes32[](0));
        vm.prank(honest);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EpochAlreadyPosted.selector, modelId, epoch));
        vault.postEpochRoot(modelId, epoch, _rootOne(contributor, 10 ether), 10 ether, "bafy-r");
    }

    /// Governance absent: a griefer can void every honest root at no cost (bond returned on lapse). The
    /// pool stays intact and the provider loses nothing, but contributors are never paid while it lasts.
    function test_GriefingChallengerVoidsHonestRootsForFreeWhileGovernanceIsAbsent() public {
        _fillPool(modelId, 10 ether);
        uint256 griefer = _wealth(colluder);
        uint64 epoch = 0;
        for (uint256 i = 0; i < 3; i++) {
            vm.prank(honest);
            vault.postEpochRoot(modelId, epoch, _rootOne(contributor, 10 ether), 10 ether, "bafy-honest");
            vm.prank(colluder);
            vault.challengeEpoch(modelId, epoch, "bafy-grief");
            vm.warp(block.timestamp + RULING + 1);
            vault.lapseEpochChallenge(modelId, epoch);
            assertEq(uint8(_epoch(modelId, epoch).status), uint8(IRewardVault.EpochStatus.None), "struck");
        }
        assertEq(vault.nextEpoch(modelId), 1, "the same epoch number is struck again and again");
        assertEq(_wealth(colluder), griefer, "griefing costs nothing");
        assertEq(_available(modelId), 10 ether);
        assertEq(workers.lockedStake(honest), 0);
    }
}
