// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SecurityBase} from "./SecurityBase.sol";
import {MerkleHelper} from "../utils/MerkleHelper.sol";
import {OpenTimelock} from "../../../contracts/governance/OpenTimelock.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";

/// @notice One test per attack of issue 12: each performs the attack against the real contracts and
///         shows it fails (the exact custom error, or the final balances).
contract AttacksTest is SecurityBase {
    // ------------------------------------------------------------------ only the owner changes a live model

    /// Attack: a stranger posts a 1-wei training job on someone else's live model to become its provider.
    function test_StrangerCannotRequestTrainingOnSomeoneElsesModel() public {
        address[2] memory outsiders = [stranger, attacker];
        for (uint256 i = 0; i < outsiders.length; i++) {
            vm.prank(outsiders[i]);
            vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotApprovedRequester.selector, modelId, outsiders[i]));
            models.requestTraining(modelId, 1);
        }
        assertEq(models.jobCount(), 1, "only the setup job exists");
        assertEq(models.computeProviderOf(modelId), honest, "provider unchanged");
    }

    /// Attack: even through an approved requester, a finalized job must not replace a live model's
    /// provider/adapter without the owner.
    function test_FinalizedJobWaitsForOwnerBeforeReplacingLiveProvider() public {
        IModelRegistry.Model memory before = _model(modelId);
        vm.prank(modelOwner);
        models.setRequester(modelId, requester, true);

        uint256 jobId = _submittedJob(modelId, requester, attacker, 1);
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(models));
        emit IModelRegistry.ResultAwaitingOwner(modelId, jobId, attacker);
        models.finalize(jobId);

        IModelRegistry.Model memory afterFinalize = _model(modelId);
        assertEq(afterFinalize.computeProvider, honest, "provider unchanged");
        assertEq(afterFinalize.adapterCid, before.adapterCid, "adapter unchanged");
        assertEq(afterFinalize.liveJobId, before.liveJobId, "live job unchanged");
        (bool servable,,, address provider) = models.paymentTerms(modelId);
        assertTrue(servable);
        assertEq(provider, honest);

        // The would-be provider cannot post roots, and nobody but the owner can activate its result.
        _fillPool(modelId, 10 ether);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.NotComputeProvider.selector, modelId, attacker));
        vault.postEpochRoot(modelId, 0, _rootOne(attacker, 10 ether), 10 ether, "bafy-r");
        address[3] memory notOwners = [stranger, attacker, requester];
        for (uint256 i = 0; i < notOwners.length; i++) {
            vm.prank(notOwners[i]);
            vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotModelOwner.selector, modelId, notOwners[i]));
            models.activateResult(jobId);
        }
        assertEq(models.computeProviderOf(modelId), honest, "still unchanged");

        // Only the owner's acceptance switches it.
        vm.prank(modelOwner);
        models.activateResult(jobId);
        assertEq(models.computeProviderOf(modelId), attacker, "owner consented");
        assertEq(_model(modelId).liveJobId, jobId);
    }

    /// Attack: outsiders try the other doors to a model: approving themselves, revoking its provider,
    /// rebinding the vault that may revoke providers.
    function test_OutsidersCannotApproveThemselvesRevokeOrRebind() public {
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotModelOwner.selector, modelId, attacker));
        models.setRequester(modelId, attacker, true);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotRewardVault.selector, attacker));
        models.revokeProvider(modelId, honest);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.RewardVaultAlreadyBound.selector, address(vault)));
        models.bindRewardVault(attacker);
        assertEq(models.computeProviderOf(modelId), honest);
        assertFalse(models.isApprovedRequester(modelId, attacker));
    }

    // ------------------------------------------------------------------ stake at risk covers the value at risk

    /// Attack: the provider posts a root paying the whole pool to itself. Collateral covers it, an upheld
    /// challenge slashes at least the value, revokes the provider, and the attacker ends poorer; a
    /// provider slashed below the minimum can post nowhere and its other model refuses payments.
    function test_FraudulentRootPayingWholePoolToPosterCostsMoreThanItTakes() public {
        uint256 wealthAtStart = _wealth(attacker);
        uint256 modelA = _newModelServedBy(attacker);
        uint256 modelB = _newModelServedBy(attacker);
        _fillPool(modelA, 200 ether);
        uint256 pool = _available(modelA);
        uint256 wealthBefore = _wealth(attacker);
        uint256 challengerBefore = _wealth(challenger);

        uint64 epoch = _post(modelA, attacker, _rootOne(attacker, pool), pool);
        uint256 collateral = pool * COLLATERAL_BPS / BPS;
        assertGe(workers.lockedStake(attacker), collateral, "collateral locked");
        assertEq(_epoch(modelA, epoch).lockedStake, collateral);
        assertGe(uint256(_epoch(modelA, epoch).lockedStake) * BPS, pool * COLLATERAL_BPS - BPS + 1, ">= 1.5x");

        vm.prank(challenger);
        vault.challengeEpoch(modelA, epoch, "bafy-root-differs");
        uint256 stakeBefore = workers.stakeOf(attacker);
        vault.resolveEpochChallenge(modelA, epoch, true);
        uint256 slashed = stakeBefore - workers.stakeOf(attacker);

        assertGe(slashed, pool, "slash >= value it tried to take");
        assertEq(slashed, collateral, "slash = collateral (whole stake here)");
        assertEq(models.computeProviderOf(modelA), address(0), "revoked as provider");
        assertEq(uint8(_epoch(modelA, epoch).status), uint8(IRewardVault.EpochStatus.None), "root struck");
        assertEq(_available(modelA), pool, "pool intact");
        assertEq(_reserved(modelA), 0);
        vm.prank(attacker);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardVault.InvalidEpochStatus.selector, modelA, epoch, IRewardVault.EpochStatus.None
            )
        );
        vault.claim(modelA, epoch, 0, attacker, pool, new bytes32[](0));
        assertLt(_wealth(attacker), wealthBefore, "attacker's net change negative");
        assertLt(_wealth(attacker), wealthAtStart, "even counting the fees and bounties it earned");
        assertEq(_wealth(challenger), challengerBefore + slashed * REWARD_BPS / BPS, "challenger paid");

        // Slashed below the minimum: its other model can neither post nor be paid for.
        assertLt(workers.stakeOf(attacker), MIN_STAKE);
        assertEq(models.computeProviderOf(modelB), attacker, "still nominally modelB's provider");
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ProviderNotActive.selector, modelB, attacker));
        vault.postEpochRoot(modelB, 0, _rootOne(attacker, 1 ether), 1 ether, "bafy-r");
        uint256[2] memory refused = [modelA, modelB];
        for (uint256 i = 0; i < refused.length; i++) {
            vm.prank(payer);
            vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, refused[i]));
            vault.payForInference(refused[i], 1, PRICE, bytes32(0));
        }

        // The struck epoch is not lost: the owner's next result goes live and re-posts it honestly.
        _serve(modelA, worker2);
        vm.prank(worker2);
        vault.postEpochRoot(modelA, epoch, _rootOne(contributor, pool), pool, "bafy-honest");
        assertEq(_reserved(modelA), pool);
    }

    /// Attack: one stake backs many models. The second root's collateral must come from free stake.
    function test_OneStakeCannotBackRootsOnManyModels() public {
        uint256 modelA = _newModelServedBy(attacker);
        uint256 modelB = _newModelServedBy(attacker);
        _fillPool(modelA, 200 ether);
        _fillPool(modelB, 200 ether);
        _post(modelA, attacker, _rootOne(attacker, 200 ether), 200 ether);
        assertEq(workers.freeStake(attacker), 0, "the first root locked the whole stake");

        uint64 epochB = vault.nextEpoch(modelB);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.InsufficientFreeStake.selector, attacker, 0, 1.5 ether));
        vault.postEpochRoot(modelB, epochB, _rootOne(attacker, 1 ether), 1 ether, "bafy-r");
        assertEq(_reserved(modelB), 0);
    }

    // ------------------------------------------------------------------ an honest challenger always gets through

    /// Attack: the poster's colluding account squats the only challenge slot with a bogus reason near the
    /// end of the window; governance rejects it; the window reopens and the honest challenger gets through.
    function test_ChallengeSquattingCannotRunOutTheWindow() public {
        uint256 modelA = _newModelServedBy(attacker);
        _fillPool(modelA, 100 ether);
        uint256 pairBefore = _wealth(attacker) + _wealth(colluder);
        uint256 colluderBefore = _wealth(colluder);
        uint64 epoch = _post(modelA, attacker, _rootOne(colluder, 100 ether), 100 ether);
        uint40 deadline = _epoch(modelA, epoch).deadline;

        vm.warp(deadline - 1);
        vm.prank(colluder);
        vault.challengeEpoch(modelA, epoch, "bafy-bogus-reason");
        vm.warp(deadline + 1 hours); // governance takes its time: the original window is long gone
        vault.resolveEpochChallenge(modelA, epoch, false);

        uint40 reopened = _epoch(modelA, epoch).deadline;
        assertGe(reopened, block.timestamp + WINDOW, "window reopened for a full window");
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ChallengeWindowOpen.selector, modelA, epoch, reopened));
        vault.finalizeEpoch(modelA, epoch);

        vm.warp(reopened); // the last second of the reopened window
        uint256 challengerBefore = _wealth(challenger);
        vm.prank(challenger);
        vault.challengeEpoch(modelA, epoch, "bafy-root-differs");
        vault.resolveEpochChallenge(modelA, epoch, true);
        uint256 slashed = 150 ether;

        assertEq(vault.credited(challenger), BOND + slashed * REWARD_BPS / BPS, "honest challenger paid");
        assertEq(_wealth(challenger), challengerBefore + slashed * REWARD_BPS / BPS);
        assertEq(_wealth(colluder), colluderBefore - BOND, "colluder lost its bond");
        assertEq(vault.credited(treasury), BOND + slashed - slashed * REWARD_BPS / BPS + _feesToTreasury(modelA));
        assertEq(uint8(_epoch(modelA, epoch).status), uint8(IRewardVault.EpochStatus.None), "never finalized");
        assertLt(_wealth(attacker) + _wealth(colluder), pairBefore, "the pair lost");
    }

    /// Attack: the colluder squats again right after every rejection. Each squat costs a bond and each
    /// rejection reopens a full window, so the root never finalizes and the honest challenger still wins.
    function test_RepeatedSquatsEachCostABondAndNeverCloseTheWindow() public {
        uint256 modelA = _newModelServedBy(attacker);
        _fillPool(modelA, 100 ether);
        uint256 colluderBefore = _wealth(colluder);
        uint64 epoch = _post(modelA, attacker, _rootOne(attacker, 100 ether), 100 ether);
        for (uint256 i = 0; i < 3; i++) {
            vm.prank(colluder);
            vault.challengeEpoch(modelA, epoch, "bafy-bogus-reason");
            vm.warp(block.timestamp + 3 days); // a slow ruling, well past the original window
            vault.resolveEpochChallenge(modelA, epoch, false);
            assertGe(_epoch(modelA, epoch).deadline, block.timestamp + WINDOW, "a full window after each rejection");
        }
        vm.warp(_epoch(modelA, epoch).deadline);
        vm.prank(challenger);
        vault.challengeEpoch(modelA, epoch, "bafy-root-differs");
        vault.resolveEpochChallenge(modelA, epoch, true);
        assertEq(uint8(_epoch(modelA, epoch).status), uint8(IRewardVault.EpochStatus.None), "struck");
        assertEq(_wealth(colluder), colluderBefore - 3 * BOND, "three bonds lost");
    }

    /// Attack: the colluder's squat is judged on the ROOT, not on its bogus reason: a fraudulent root is
    /// struck anyway, and the pair still loses (the colluder's reward is half of the attacker's slash).
    function test_SquatOnFraudulentRootIsJudgedOnTheRoot() public {
        uint256 modelA = _newModelServedBy(attacker);
        _fillPool(modelA, 100 ether);
        uint256 pairBefore = _wealth(attacker) + _wealth(colluder);
        uint64 epoch = _post(modelA, attacker, _rootOne(colluder, 100 ether), 100 ether);
        vm.prank(colluder);
        vault.challengeEpoch(modelA, epoch, "bafy-bogus-reason");
        vault.resolveEpochChallenge(modelA, epoch, true);
        uint256 slashed = 150 ether;
        assertEq(_wealth(attacker) + _wealth(colluder), pairBefore - slashed + slashed * REWARD_BPS / BPS);
        assertEq(models.computeProviderOf(modelA), address(0), "revoked");
    }

    /// Attack on the ruling: governance never rules on an epoch challenge. After rulingPeriod anyone lapses
    /// it: bond back, collateral unlocked, total back to the pool, epoch re-postable.
    function test_UnruledEpochChallengeLapsesAndReleasesEverything() public {
        _fillPool(modelId, 100 ether);
        uint256 lockedBefore = workers.lockedStake(honest);
        uint64 epoch = _post(modelId, honest, _rootOne(contributor, 100 ether), 100 ether);
        assertEq(_available(modelId), 0);

        vm.prank(colluder);
        vault.challengeEpoch(modelId, epoch, "bafy-anything");
        uint64 rulingDeadline = _epoch(modelId, epoch).dispute.rulingDeadline;
        assertEq(rulingDeadline, block.timestamp + RULING);
        vm.warp(rulingDeadline);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.RulingPeriodActive.selector, rulingDeadline));
        vault.lapseEpochChallenge(modelId, epoch);

        vm.warp(rulingDeadline + 1);
        vm.prank(stranger);
        vault.lapseEpochChallenge(modelId, epoch);
        assertEq(vault.credited(colluder), BOND, "bond back to the challenger");
        assertEq(workers.lockedStake(honest), lockedBefore, "collateral unlocked");
        assertEq(_available(modelId), 100 ether, "total back to the pool");
        assertEq(_reserved(modelId), 0);
        assertEq(uint8(_epoch(modelId, epoch).status), uint8(IRewardVault.EpochStatus.None));
        // Nothing stuck: the epoch can be posted again and everything withdrawn.
        vm.prank(honest);
        vault.postEpochRoot(modelId, epoch, _rootOne(contributor, 100 ether), 100 ether, "bafy-again");
        vm.prank(colluder);
        vault.withdraw();
    }

    /// Same for a training result: job back to Open, bond back, collateral released, bounty refundable.
    function test_UnruledJobChallengeLapsesAndReleasesEverything() public {
        uint256 requesterBefore = token.balanceOf(modelOwner);
        uint256 jobId = _submittedJob(modelId, modelOwner, worker2, BOUNTY);
        assertGt(workers.lockedStake(worker2), 0);
        vm.prank(challenger);
        models.challengeResult(jobId, "bafy-anything");
        uint64 rulingDeadline = models.getJob(jobId).dispute.rulingDeadline;
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.RulingPeriodActive.selector, rulingDeadline));
        models.lapseChallenge(jobId);

        vm.warp(rulingDeadline + 1);
        vm.prank(stranger);
        models.lapseChallenge(jobId);
        IModelRegistry.Job memory job = models.getJob(jobId);
        assertEq(uint8(job.status), uint8(IModelRegistry.JobStatus.Open), "job back to Open");
        assertEq(job.worker, address(0));
        assertEq(workers.lockedStake(worker2), 0, "collateral released");
        assertEq(workers.stakeOf(worker2), HONEST_STAKE, "nobody slashed");
        assertEq(models.credited(challenger), BOND, "bond back");
        vm.prank(modelOwner);
        models.cancelJob(jobId);
        assertEq(token.balanceOf(modelOwner), requesterBefore, "bounty back");
    }

    // ------------------------------------------------------------------ liveness and fairness

    /// Attack: the lease holder renews (and re-claims) forever to keep the bounty hostage.
    function test_LeaseHostageEndsAtCapAndHardDeadline() public {
        uint256 requesterBefore = token.balanceOf(modelOwner);
        vm.prank(modelOwner);
        uint256 jobId = models.requestTraining(modelId, BOUNTY);
        uint64 requestedAt = uint64(block.timestamp);
        vm.prank(attacker);
        models.claimJob(jobId);
        uint64 cap = requestedAt + MAX_LEASE;

        _renewUntilCap(jobId, cap);
        assertEq(models.getJob(jobId).leaseExpiresAt, cap, "lease stops at claimedAt + maxLeaseTime");
        vm.prank(modelOwner);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LeaseStillActive.selector, jobId, cap));
        models.cancelJob(jobId);

        // The attacker front-runs each cancellation by re-claiming its expired lease and renewing again...
        uint64 hardDeadline = requestedAt + JOB_DEADLINE;
        while (cap + 1 <= hardDeadline) {
            vm.warp(cap + 1);
            vm.prank(attacker);
            models.claimJob(jobId);
            cap = uint64(block.timestamp) + MAX_LEASE;
            _renewUntilCap(jobId, cap);
        }
        // ...but past the job's hard deadline nobody can claim, and the requester cancels whatever the lease.
        vm.warp(hardDeadline + 1);
        assertGt(models.getJob(jobId).leaseExpiresAt, block.timestamp, "lease still active");
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.JobDeadlinePassed.selector, jobId, hardDeadline));
        models.claimJob(jobId);
        vm.prank(modelOwner);
        models.cancelJob(jobId);
        assertEq(token.balanceOf(modelOwner), requesterBefore, "bounty back");
        assertEq(workers.lockedStake(attacker), 0, "collateral released");
    }

    /// Attack: the model owner raises the price in front of a payment.
    function test_PriceFrontRunRevertsWithMaxPrice() public {
        uint256 payerBefore = token.balanceOf(payer);
        uint256 vaultBefore = token.balanceOf(address(vault));
        uint256 poolBefore = _available(modelId);
        vm.prank(modelOwner);
        models.setPrice(modelId, 2 * PRICE);

        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.PriceAboveMaximum.selector, modelId, 2 * PRICE, PRICE));
        vault.payForInference(modelId, 10, PRICE, bytes32("req"));
        assertEq(token.balanceOf(payer), payerBefore, "payer charged nothing");
        assertEq(token.balanceOf(address(vault)), vaultBefore);
        assertEq(_available(modelId), poolBefore);
        assertEq(vault.credited(modelOwner), 0, "owner gained nothing");
    }

    /// Attack: a watcher copies a contributor's pending CID and submits it first.
    function test_CidFrontRunNeitherBlocksNorReplacesTheVictim() public {
        string memory cid = "bafy-victims-data";
        vm.prank(attacker);
        uint256 attackerId = datanets.contribute(datanetId, cid, 2_048, 20);
        vm.prank(contributor2);
        uint256 victimId = datanets.contribute(datanetId, cid, 2_048, 20);

        assertTrue(victimId != attackerId, "two contributions");
        assertEq(datanets.contributionIdByCid(datanetId, contributor2, cid), victimId);
        assertEq(datanets.contributionIdByCid(datanetId, attacker, cid), attackerId);
        assertEq(datanets.getContribution(victimId).contributor, contributor2, "bound to the victim");
        assertEq(datanets.getContribution(attackerId).contributor, attacker);
        assertEq(uint8(datanets.getContribution(victimId).status), uint8(IDatanetRegistry.ContributionStatus.Pending));
        // The curator sees both; the copy can be rejected (and its stake slashed) without touching the victim's.
        vm.startPrank(curator);
        datanets.review(attackerId, false, "bafy-copy");
        datanets.review(victimId, true, "bafy-ok");
        vm.stopPrank();
        assertEq(uint8(datanets.getContribution(victimId).status), uint8(IDatanetRegistry.ContributionStatus.Accepted));
    }

    /// After the provider exits, payments stop and the pool waits for the owner's next provider.
    function test_ProviderExitStopsPaymentsAndOwnerActivatedProviderPostsPool() public {
        _fillPool(modelId, 100 ether);
        uint256 pool = _available(modelId);
        vm.prank(modelOwner);
        models.setRequester(modelId, requester, true);
        uint256 nextJob = _trainedJob(modelId, requester, worker2, BOUNTY); // awaits the owner: honest serves

        vm.prank(honest);
        workers.requestExit();
        _assertUnservable(modelId, honest);

        vm.prank(modelOwner);
        models.activateResult(nextJob);
        vm.prank(worker2);
        vault.postEpochRoot(modelId, 0, _rootOne(contributor, pool), pool, "bafy-r");
        assertEq(_available(modelId), 0, "the whole pool went to the new epoch");
        _pay(modelId, 2); // servable again
    }

    /// Same, when no result was waiting: the owner's next training goes live by itself (no active provider).
    function test_ProviderExitThenNextOwnerTrainingGoesLive() public {
        _fillPool(modelId, 100 ether);
        uint256 pool = _available(modelId);
        vm.prank(honest);
        workers.requestExit();
        _assertUnservable(modelId, honest);

        _trainedJob(modelId, modelOwner, worker2, BOUNTY);
        assertEq(models.computeProviderOf(modelId), worker2);
        vm.prank(worker2);
        vault.postEpochRoot(modelId, 0, _rootOne(contributor, pool), pool, "bafy-r");
        vm.warp(block.timestamp + WINDOW + 1);
        vault.finalizeEpoch(modelId, 0);
        uint256 before = token.balanceOf(contributor);
        vault.claim(modelId, 0, 0, contributor, pool, new bytes32[](0));
        assertEq(token.balanceOf(contributor), before + pool, "contributors got the old pool");
        vm.warp(block.timestamp + 7 days);
        vm.prank(honest);
        workers.withdrawStake(); // the exited provider holds no locks
    }

    /// Unclaimed amounts expire: after the claim deadline claims stop and sweeping returns the rest.
    function test_UnclaimedAmountsExpireBackToThePool() public {
        _fillPool(modelId, 100 ether);
        address[] memory accounts = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        (accounts[0], amounts[0]) = (contributor, 60 ether);
        (accounts[1], amounts[1]) = (contributor2, 40 ether);
        bytes32[] memory tree = _tree(accounts, amounts);
        uint64 epoch = _post(modelId, honest, tree[0], 100 ether);
        vm.warp(block.timestamp + WINDOW + 1);
        vault.finalizeEpoch(modelId, epoch);
        uint40 claimDeadline = _epoch(modelId, epoch).deadline;
        assertEq(claimDeadline, block.timestamp + CLAIM_PERIOD);
        vault.claim(
            modelId, epoch, 0, contributor, 60 ether, MerkleHelper.proof(tree, MerkleHelper.leaf(0, contributor, 60 ether))
        );

        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ClaimPeriodActive.selector, modelId, epoch, claimDeadline));
        vault.sweepEpoch(modelId, epoch);
        vm.warp(uint256(claimDeadline) + 1);
        bytes32[] memory proof1 = MerkleHelper.proof(tree, MerkleHelper.leaf(1, contributor2, 40 ether));
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ClaimPeriodOver.selector, modelId, epoch, claimDeadline));
        vault.claim(modelId, epoch, 1, contributor2, 40 ether, proof1);

        vm.prank(stranger);
        vault.sweepEpoch(modelId, epoch);
        assertEq(_available(modelId), 40 ether, "unclaimed back to available");
        assertEq(_reserved(modelId), 0);
        assertEq(uint8(_epoch(modelId, epoch).status), uint8(IRewardVault.EpochStatus.Swept));
        uint64 next = _post(modelId, honest, _rootOne(contributor2, 40 ether), 40 ether);
        assertEq(next, epoch + 1);
        assertEq(_reserved(modelId), 40 ether, "the next epoch reserved it");
    }

    // ------------------------------------------------------------------ governance cannot make itself a slasher

    function test_AdminCannotGrantItselfSlasherRole() public {
        bytes32 slasherRole = workers.SLASHER_ROLE();
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        workers.grantRole(slasherRole, admin);
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        workers.setSlashers(new address[](0));
        address[] memory me = new address[](1);
        me[0] = admin;
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        workers.setSlashers(me);
        assertFalse(workers.hasRole(slasherRole, admin));
        assertTrue(workers.hasRole(slasherRole, address(models)));
        assertTrue(workers.hasRole(slasherRole, address(vault)));
    }

    /// The same through a real timelock holding DEFAULT_ADMIN_ROLE: the executed proposal reverts.
    function test_TimelockCannotGrantItselfSlasherRole() public {
        address[] memory proposers = new address[](1);
        proposers[0] = admin;
        address[] memory executors = new address[](1);
        OpenTimelock timelock = new OpenTimelock(60, proposers, executors, address(0));
        workers.grantRole(workers.DEFAULT_ADMIN_ROLE(), address(timelock));
        workers.renounceRole(workers.DEFAULT_ADMIN_ROLE(), admin);

        bytes32 slasherRole = workers.SLASHER_ROLE();
        bytes memory grant = abi.encodeCall(workers.grantRole, (slasherRole, address(timelock)));
        timelock.schedule(address(workers), 0, grant, bytes32(0), bytes32(0), 60);
        vm.warp(block.timestamp + 61);
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        timelock.execute(address(workers), 0, grant, bytes32(0), bytes32(0));
        assertFalse(workers.hasRole(slasherRole, address(timelock)));
    }

    // ------------------------------------------------------------------ helpers

    function _renewUntilCap(uint256 jobId, uint64 cap) private {
        for (uint256 i = 0; i < 16; i++) {
            vm.warp(block.timestamp + 12 hours);
            if (uint64(block.timestamp) + LEASE >= cap && models.getJob(jobId).leaseExpiresAt == cap) break;
            vm.prank(attacker);
            models.renewLease(jobId);
        }
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LeaseCapReached.selector, jobId, cap));
        models.renewLease(jobId);
    }

    function _assertUnservable(uint256 id, address provider) private {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, id));
        vault.payForInference(id, 1, PRICE, bytes32(0));
        uint64 epoch = vault.nextEpoch(id);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ProviderNotActive.selector, id, provider));
        vault.postEpochRoot(id, epoch, _rootOne(provider, 1 ether), 1 ether, "bafy-r");
        (bool servable,,,) = models.paymentTerms(id);
        assertFalse(servable);
    }

    /// @dev Treasury share of every payment for `id` so far (10% of price * requests).
    function _feesToTreasury(uint256 id) private view returns (uint256) {
        (uint256 available, uint256 reserved) = vault.pool(id);
        return (available + reserved) / 5; // contributors 50%, treasury 10%
    }
}
