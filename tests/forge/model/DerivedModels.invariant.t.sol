// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {StdInvariant} from "forge-std/StdInvariant.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {VaultFixtures} from "../utils/VaultFixtures.sol";
import {DerivedModelsHandler} from "./handlers/DerivedModelsHandler.sol";
import {DerivedModelsState} from "./handlers/DerivedModelsState.sol";

/// @dev Every handler action is expected to go through (refusals are caught and checked), so a revert
///      is a failure here.
/// forge-config: default.invariant.fail-on-revert = true
contract DerivedModelsInvariantTest is StdInvariant, VaultFixtures {
    DerivedModelsHandler internal handler;
    address internal attacker = makeAddr("attacker");

    function setUp() public override {
        super.setUp(); // model 1: live, base minilm-l6-v2, owner modelOwner, provider worker
        _fund(attacker);
        _registerWorker(worker2);
        vm.prank(worker);
        workers.addStake(200 ether); // room for the collateral of pending jobs and open epochs
        vm.prank(worker2);
        workers.addStake(200 ether);
        assertTrue(token.transfer(payer, 1_000_000 ether));

        DerivedModelsState.Cast memory c;
        c.owners = new address[](2);
        c.owners[0] = modelOwner;
        c.owners[1] = stranger;
        c.attacker = attacker;
        c.trainers = new address[](2);
        c.trainers[0] = worker;
        c.trainers[1] = worker2;
        c.payer = payer;
        handler = new DerivedModelsHandler(vault, c, modelId, modelOwner);
        vm.startPrank(gov);
        models.grantRole(models.GOVERNANCE_ROLE(), address(handler));
        vault.grantRole(vault.GOVERNANCE_ROLE(), address(handler));
        vm.stopPrank();

        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](23);
        s[0] = DerivedModelsHandler.registerPlain.selector;
        s[1] = DerivedModelsHandler.deriveHonest.selector;
        s[2] = DerivedModelsHandler.deriveHonest.selector; // derivations weigh double: they grow lineages
        s[3] = DerivedModelsHandler.deriveRandom.selector;
        s[4] = DerivedModelsHandler.attackDerive.selector;
        s[5] = DerivedModelsHandler.attackDerive.selector;
        s[6] = DerivedModelsHandler.train.selector;
        s[7] = DerivedModelsHandler.train.selector;
        s[8] = DerivedModelsHandler.leavePending.selector;
        s[9] = DerivedModelsHandler.finalizePending.selector;
        s[10] = DerivedModelsHandler.retrain.selector;
        s[11] = DerivedModelsHandler.setMaxLineageDepth.selector;
        s[12] = DerivedModelsHandler.setLineageShareBps.selector;
        s[13] = DerivedModelsHandler.attackGovernance.selector;
        s[14] = DerivedModelsHandler.setProbe.selector;
        s[15] = DerivedModelsHandler.payAndPost.selector;
        s[16] = DerivedModelsHandler.payAndPost.selector;
        s[17] = DerivedModelsHandler.claim.selector;
        s[18] = DerivedModelsHandler.claim.selector;
        s[19] = DerivedModelsHandler.attackClaim.selector;
        s[20] = DerivedModelsHandler.withdraw.selector;
        s[21] = DerivedModelsHandler.attackClaim.selector;
        s[22] = DerivedModelsHandler.claim.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: s}));
    }

    /// @dev Every model's depth is the ghost's, never above the limit in force when it was registered nor
    ///      the hard cap; a plain model has no lineage at all.
    function invariant_depthWithinLimitInForceAtRegistration() public view {
        for (uint256 m = 1; m <= models.modelCount(); m++) {
            DerivedModelsState.Ghost memory g = handler.ghostOf(m);
            (uint256 parent, uint256 job, uint256 depth) = models.lineageOf(m);
            assertEq(depth, g.depth, "depth differs from the ghost's");
            assertLe(depth, models.MAX_LINEAGE_DEPTH(), "depth above the hard cap");
            if (g.parent == 0) {
                assertEq(parent + job + depth, 0, "plain model with a lineage");
            } else {
                assertGt(depth, 0, "derived model at depth 0");
                assertLe(depth, g.maxAtRegistration, "depth above the limit in force at registration");
            }
        }
    }

    /// @dev Following parents from any model goes strictly down in id and one level of depth at a time,
    ///      keeps the base model and reaches a plain model after exactly `depth` steps; ancestorsOf is the
    ///      first min(depth, maxLineageDepth) of that walk (parent first) with each level's pinned job.
    function invariant_ancestryIsAcyclicRootedAndSameBase() public view {
        uint256 limit = models.maxLineageDepth();
        for (uint256 m = 1; m <= models.modelCount(); m++) {
            bytes32 base = keccak256(bytes(models.getModel(m).baseModel));
            (uint256[] memory ancestors, uint256[] memory jobs) = models.ancestorsOf(m);
            (uint256 parent, uint256 job, uint256 depth) = models.lineageOf(m);
            assertEq(ancestors.length, depth < limit ? depth : limit, "ancestors length != min(depth, limit)");
            assertEq(jobs.length, ancestors.length);
            uint256 current = m;
            for (uint256 level = 0; level < depth; level++) {
                assertLt(parent, current, "a parent not older than its child: cycle possible");
                assertGt(parent, 0, "lineage ends before its depth");
                assertEq(keccak256(bytes(models.getModel(parent).baseModel)), base, "ancestor of another base");
                if (level < ancestors.length) {
                    assertEq(ancestors[level], parent, "ancestorsOf differs from the parent walk");
                    assertEq(jobs[level], job, "ancestorsOf job differs from the pinned job");
                }
                uint256 childDepth = depth - level;
                current = parent;
                uint256 d;
                (parent, job, d) = models.lineageOf(current);
                assertEq(d, childDepth - 1, "parent not exactly one level up");
            }
            assertEq(parent, 0, "walk does not end at a plain model");
        }
    }

    /// @dev A derived model's parent and pinned job are what the ghost saw at registration: the parent
    ///      was live and the job was its live job then (a later retraining changes neither); the registry's
    ///      own live state of every model agrees with the ghost.
    function invariant_pinnedJobWasParentsLiveJobAtRegistration() public view {
        for (uint256 m = 1; m <= models.modelCount(); m++) {
            DerivedModelsState.Ghost memory g = handler.ghostOf(m);
            IModelRegistry.Model memory model = models.getModel(m);
            assertEq(model.status == IModelRegistry.ModelStatus.Live, g.live, "live state differs from ghost");
            assertEq(model.liveJobId, g.liveJob, "live job differs from ghost");
            if (g.parent == 0) continue;
            (uint256 parent, uint256 job,) = models.lineageOf(m);
            assertEq(parent, g.parent, "parent differs from ghost");
            assertEq(job, g.pinnedJob, "pinned job is not the parent's live job at registration");
            IModelRegistry.Job memory pinned = models.getJob(job);
            assertEq(pinned.modelId, parent, "pinned job of another model");
            assertEq(uint8(pinned.status), uint8(IModelRegistry.JobStatus.Finalized), "pinned job not finalized");
        }
    }

    /// @dev Every derivation ends as the rules say (success, or the predicted error); none of the
    ///      attacker's invalid ones ever succeeded.
    function invariant_derivationsFollowTheRules() public view {
        assertEq(handler.attackerInvalidSuccesses(), 0, "attacker's invalid derivation succeeded");
        assertEq(handler.invalidAccepted(), 0, "invalid derivation accepted");
        assertEq(handler.validRefused(), 0, "valid derivation refused");
        assertEq(handler.wrongRefusal(), 0, "derivation refused with an unexpected error");
        assertEq(models.modelCount(), handler.ghostModelCount(), "model count differs from ghost");
    }

    /// @dev The limit and the share stay within their caps, move only by governance and only in range.
    function invariant_governanceParametersBounded() public view {
        assertLe(vault.lineageShareBps(), vault.MAX_LINEAGE_SHARE_BPS(), "lineage share above its cap");
        assertLe(models.maxLineageDepth(), models.MAX_LINEAGE_DEPTH(), "depth limit above its cap");
        assertEq(vault.lineageShareBps(), handler.ghostShareBps());
        assertEq(models.maxLineageDepth(), handler.ghostMaxDepth());
        assertEq(handler.wrongGovernanceOutcome(), 0, "setter accepted out of range or refused in range");
        assertEq(handler.attackerGovernanceSuccesses(), 0, "attacker changed a lineage parameter");
    }

    /// @dev For every model and amount, upstreamSplit follows ancestorsOf and its parts add up to the
    ///      amount exactly (empty without ancestors); every level but the last passes on exactly
    ///      floor(received * share) (so keeps >= half), and the epochs built from it added up to their totals.
    function invariant_upstreamSplitConservesValue() public view {
        uint256[5] memory amounts = [uint256(0), 1, 9_999, 1e18 + 7, handler.probeAmount()];
        uint256 bps = vault.lineageShareBps();
        for (uint256 m = 1; m <= models.modelCount(); m++) {
            (uint256[] memory ancestors, uint256[] memory ancestorJobs) = models.ancestorsOf(m);
            for (uint256 a = 0; a < amounts.length; a++) {
                (uint256[] memory ids, uint256[] memory jobs, uint256[] memory kept) =
                    vault.upstreamSplit(m, amounts[a]);
                assertEq(ids.length, ancestors.length);
                assertEq(kept.length, ancestors.length);
                uint256 sum;
                uint256 received = amounts[a];
                for (uint256 i = 0; i < ids.length; i++) {
                    assertEq(ids[i], ancestors[i]);
                    assertEq(jobs[i], ancestorJobs[i]);
                    assertLe(kept[i], received, "a level keeps more than it receives");
                    // each level passes on floor(received * share) and keeps the rest; the last keeps all
                    uint256 passed = i + 1 < ids.length ? received * bps / 10_000 : 0;
                    assertEq(kept[i], received - passed, "a level keeps other than the lineage rule says");
                    received -= kept[i];
                    sum += kept[i];
                }
                if (ids.length > 0) assertEq(sum, amounts[a], "upstream split creates or loses value");
            }
        }
        assertEq(handler.leafSumMismatch(), 0, "lineage leaves do not add up to the epoch total");
    }

    /// @dev The vault holds exactly its credits plus, per model, available + reserved - claimed (no bonds
    ///      here), so at least every unclaimed obligation; no contributor ever received more than its leaves
    ///      allot, and forged, repeated or attacker-made claims never paid.
    function invariant_vaultCoversObligationsAndClaimsStayWithinAllotments() public view {
        address[] memory parties = handler.creditedParties();
        uint256 credits;
        for (uint256 i = 0; i < parties.length; i++) {
            credits += vault.credited(parties[i]);
        }
        uint256 obligations = credits;
        for (uint256 m = 1; m <= models.modelCount(); m++) {
            (uint256 available, uint256 reserved) = vault.pool(m);
            uint256 claimed;
            for (uint64 e = 0; e < vault.nextEpoch(m); e++) {
                IRewardVault.Epoch memory ep = vault.getEpoch(m, e);
                assertLe(ep.claimed, ep.total, "epoch paid above its total");
                claimed += ep.claimed;
            }
            obligations += available + reserved - claimed;
            address c = handler.contributorOf(m);
            assertEq(token.balanceOf(c), handler.ghostClaimed(c), "contributor received what no claim paid");
            assertLe(token.balanceOf(c), handler.ghostAllotted(c), "contributor received above its allotment");
        }
        assertGe(token.balanceOf(address(vault)), obligations, "vault cannot cover its obligations");
        assertEq(token.balanceOf(address(vault)), obligations, "vault holds unaccounted tokens");
        assertEq(handler.badClaims(), 0, "a forged or repeated claim paid");
    }
}
