// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IModelRegistry} from "../../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../../contracts/interfaces/IRewardVault.sol";
import {RewardVault} from "../../../../contracts/rewards/RewardVault.sol";
import {DerivedModelsState} from "./DerivedModelsState.sol";

/// @notice Drives derived models (issue 17): plain and derived registrations by honest owners and an
///         attacker (parents unknown, not live, with a job pending or cancelled, of another base model,
///         too deep, the child's own id or a later one), training, retraining with or without the owner's
///         activation, governance moving `maxLineageDepth` and `lineageShareBps` inside and outside their
///         bounds (and the attacker trying the same), and money: payments to live models, epochs whose
///         leaves apply the lineage rule through `upstreamSplit`, honest claims and forged or repeated
///         ones. A ghost model of the registry predicts every derivation's outcome (the exact error of a
///         refused one) and remembers each model's parent, pinned job, depth and the limit then in force.
///         The handler holds GOVERNANCE_ROLE on ModelRegistry and RewardVault. Ghost state, predictions
///         and lookups live in {DerivedModelsState}.
contract DerivedModelsHandler is DerivedModelsState {
    constructor(RewardVault vault_, Cast memory cast_, uint256 rootModel, address rootOwner)
        DerivedModelsState(vault_, cast_, rootModel, rootOwner)
    {}

    // ------------------------------------------------------------------ registrations

    function registerPlain(uint256 seed) public returns (uint256 id) {
        address owner = _actor(seed);
        uint8 base = uint8((seed >> 8) % 2);
        vm.prank(owner);
        id = models.registerModel(DATANET, (seed >> 16) % 2 + 1, _base(base), "bafyspec", PRICE);
        ghosts[id] = Ghost(owner, base, 0, 0, false, 0, 0, 0);
        ghostModelCount = id;
        hits["plain"]++;
    }

    /// @dev An honest owner derives from a valid parent when there is one (the deepest one, half the time,
    ///      so lineages grow), and trains the child at once when `goLive`.
    function deriveHonest(uint256 seed, bool goLive) external {
        uint256 parent = _validParent(seed, (seed >> 4) % 2 == 0);
        if (parent == 0) parent = seed % ghostModelCount + 1;
        address owner = cast.owners[seed % cast.owners.length];
        (bool ok, uint256 child) = _derive(owner, parent, ghosts[parent].base, 1);
        if (ok && goLive) _train(child, cast.trainers[(seed >> 8) % cast.trainers.length]);
    }

    /// @dev Anyone, any parent id (0 .. count + 2), any base model, any version: the ghost decides.
    function deriveRandom(uint256 actorSeed, uint256 parent, uint8 base, uint256 version) external {
        _derive(_actor(actorSeed), _bound(parent, 0, ghostModelCount + 2), base % 3, _bound(version, 0, 3));
    }

    /// @dev The attacker's invalid derivations: 0 the id the child would get (self-parent), 1 a later id
    ///      (a would-be cycle), 2 no parent (id 0), 3 a parent not live (never trained, or its job open,
    ///      claimed, submitted or cancelled), 4 a live parent of another base model, 5 a parent at the depth
    ///      limit (reached first by valid derivations of its own when no live model is there yet), 6 a valid
    ///      parent with an unknown datanet version.
    function attackDerive(uint256 kind, uint256 seed) external {
        kind %= 7;
        uint256 n = ghostModelCount;
        uint256 parent;
        uint256 base;
        uint256 version = 1;
        if (kind <= 2) {
            parent = kind == 0 ? n + 1 : kind == 1 ? n + 2 + seed % 5 : 0;
            base = seed % 2;
        } else if (kind == 3) {
            parent = _find(seed, false, type(uint8).max);
            if (parent == 0) parent = leavePending(seed, seed >> 8);
            base = ghosts[parent].base;
        } else if (kind == 4) {
            parent = _find(seed, true, type(uint8).max);
            base = (ghosts[parent].base + 1 + seed % 2) % 3;
        } else if (kind == 5) {
            parent = _climbToLimit(seed);
            base = ghosts[parent].base;
        } else {
            parent = _validParent(seed, false);
            if (parent == 0) return;
            base = ghosts[parent].base;
            version = seed % 2 == 0 ? 0 : 3;
        }
        (bool ok,) = _derive(cast.attacker, parent, base, version);
        if (!ok) hits[keccak256(abi.encode("attackRefused", kind))]++;
    }

    // ------------------------------------------------------------------ training

    /// @dev A model not live yet is trained and finalized: it goes live on that job.
    function train(uint256 seed) external {
        uint256 m = _find(seed, false, type(uint8).max);
        if (m == 0) return;
        _train(m, cast.trainers[(seed >> 8) % cast.trainers.length]);
    }

    /// @dev A model not live (a fresh attacker model when none) gets a job left Open (stage 0), Claimed (1),
    ///      Submitted in its challenge window (2) or cancelled (3): still not a valid parent.
    function leavePending(uint256 seed, uint256 stage) public returns (uint256 m) {
        m = _find(seed, false, type(uint8).max);
        if (m == 0) m = registerPlain(3 * (seed >> 8) + 2); // _actor: the attacker
        vm.prank(ghosts[m].owner);
        uint256 job = models.requestTraining(m, BOUNTY);
        stage %= 4;
        if (stage == 3) {
            vm.prank(ghosts[m].owner);
            models.cancelJob(job);
        } else if (stage >= 1) {
            address trainer = cast.trainers[seed % cast.trainers.length];
            vm.prank(trainer);
            models.claimJob(job);
            if (stage == 2) {
                _submit(job, trainer, seed);
                submittedJobs.push(job);
            }
        }
        hits["pending"]++;
    }

    /// @dev A job left submitted is finalized: its model goes live on it unless already live (then the
    ///      owner activates it when `activate`).
    function finalizePending(uint256 seed, bool activate) external {
        if (submittedJobs.length == 0) return;
        uint256 k = seed % submittedJobs.length;
        uint256 job = submittedJobs[k];
        submittedJobs[k] = submittedJobs[submittedJobs.length - 1];
        submittedJobs.pop();
        IModelRegistry.Job memory j = models.getJob(job);
        if (block.timestamp <= j.challengeDeadline) vm.warp(j.challengeDeadline + 1);
        models.finalize(job);
        _settle(j.modelId, job, activate);
        hits["finalizePending"]++;
    }

    /// @dev A live model is retrained; the new result waits for its owner, who activates it when
    ///      `activate`: derived models pinned the old job and keep it.
    function retrain(uint256 seed, bool activate) external {
        uint256 m = _find(seed, true, type(uint8).max);
        if (m == 0) return;
        uint256 job = _run(m, cast.trainers[(seed >> 8) % cast.trainers.length], seed);
        _settle(m, job, activate);
        hits[activate ? bytes32("retrainActivated") : bytes32("retrainAwaiting")]++;
    }

    // ------------------------------------------------------------------ governance

    function setMaxLineageDepth(uint256 value) external {
        // mostly 3 .. 8 so that lineages grow; one call in four anything 0 .. 11
        uint8 v = uint8(value % 4 == 0 ? (value >> 2) % 12 : 3 + (value >> 2) % 6);
        bool inRange = v <= models.MAX_LINEAGE_DEPTH();
        try models.setMaxLineageDepth(v) {
            if (!inRange) wrongGovernanceOutcome++;
            ghostMaxDepth = v;
        } catch (bytes memory reason) {
            bytes memory expected = abi.encodeWithSelector(IModelRegistry.LineageDepthOutOfRange.selector, v, 8);
            if (inRange || keccak256(reason) != keccak256(expected)) wrongGovernanceOutcome++;
        }
    }

    function setLineageShareBps(uint256 value) external {
        // mostly 0 .. 5_500; one call in four any uint16
        uint16 bps = uint16(value % 4 == 0 ? value >> 2 : _bound(value >> 2, 0, 5_500));
        bool inRange = bps <= vault.MAX_LINEAGE_SHARE_BPS();
        try vault.setLineageShareBps(bps) {
            if (!inRange) wrongGovernanceOutcome++;
            ghostShareBps = bps;
        } catch (bytes memory reason) {
            bytes memory expected = abi.encodeWithSelector(IRewardVault.LineageShareOutOfRange.selector, bps, 5_000);
            if (inRange || keccak256(reason) != keccak256(expected)) wrongGovernanceOutcome++;
        }
    }

    /// @dev The attacker calls the setters itself: must always revert.
    function attackGovernance(uint256 value, bool depth) external {
        vm.prank(cast.attacker);
        if (depth) {
            try models.setMaxLineageDepth(uint8(value % 9)) {
                attackerGovernanceSuccesses++;
            } catch {}
        } else {
            try vault.setLineageShareBps(uint16(value % 5_001)) {
                attackerGovernanceSuccesses++;
            } catch {}
        }
    }

    function setProbe(uint256 amount) external {
        probeAmount = _bound(amount, 0, type(uint256).max / 5_000); // received * bps fits in 256 bits
    }

    // ------------------------------------------------------------------ money

    /// @dev Pays for inferences of a live model, then posts and finalizes an epoch of part of its pool
    ///      whose leaves follow the lineage rule: the model's contributor keeps `total - cut`, the cut
    ///      (`total * lineageShareBps / 10_000` when it has ancestors) goes up as upstreamSplit says.
    function payAndPost(uint256 seed, uint256 requests) external {
        uint256 m = _find(seed, true, type(uint8).max);
        if (m == 0) return;
        (, uint256 price,, address provider) = models.paymentTerms(m);
        vm.prank(cast.payer);
        vault.payForInference(m, _bound(requests, 1, 20), price, bytes32(seed));
        (uint256 available,) = vault.pool(m);
        uint256 total = _bound(seed >> 32, 1, available < 20 ether ? available : 20 ether);
        (address[] memory accounts, uint256[] memory amounts) = _lineageLeaves(m, total);
        uint64 e = vault.nextEpoch(m);
        epochAccounts[m][e] = accounts;
        epochAmounts[m][e] = amounts;
        vm.prank(provider);
        vault.postEpochRoot(m, e, _tree(m, e)[0], total, "bafyepochreport");
        vm.warp(block.timestamp + vault.challengeWindow() + 1);
        vault.finalizeEpoch(m, e);
        for (uint256 i = 0; i < accounts.length; i++) {
            leaves.push(Leaf(m, e, i, accounts[i], amounts[i]));
            ghostAllotted[accounts[i]] += amounts[i];
        }
        hits[ghosts[m].depth > 0 ? bytes32("epochDerived") : bytes32("epochPlain")]++;
    }

    /// @dev A leaf not claimed yet (a claim after the epoch's claim deadline must revert).
    function claim(uint256 seed) external {
        uint256 k = _leafFrom(seed, false);
        if (k == type(uint256).max) return;
        Leaf memory l = leaves[k];
        if (block.timestamp > vault.getEpoch(l.modelId, l.epoch).deadline) {
            try vault.claim(l.modelId, l.epoch, l.index, l.account, l.amount, _proof(l)) {
                badClaims++;
            } catch {}
            return;
        }
        vault.claim(l.modelId, l.epoch, l.index, l.account, l.amount, _proof(l));
        leafClaimed[k] = true;
        ghostClaimed[l.account] += l.amount;
        hits["claim"]++;
    }

    /// @dev The attacker replays a paid leaf (kind 0: one the epoch's remaining total would still cover,
    ///      when there is one, so that only the claimed bitmap stands in the way), or uses a real proof with
    ///      itself as account (1), a larger amount (2) or another index (3): must never pay.
    function attackClaim(uint256 seed, uint256 delta) external {
        uint256 kind = seed % 4;
        uint256 k = kind == 0 ? _replayable(seed >> 2) : _leafFrom(seed >> 2, false);
        if (k == type(uint256).max) return;
        Leaf memory l = leaves[k];
        bytes32[] memory proof = _proof(l);
        if (kind == 1) l.account = cast.attacker;
        else if (kind == 2) l.amount += _bound(delta, 1, 1 ether);
        else if (kind == 3) l.index += _bound(delta, 1, 1_000);
        vm.prank(cast.attacker);
        try vault.claim(l.modelId, l.epoch, l.index, l.account, l.amount, proof) {
            badClaims++;
        } catch {}
        hits[keccak256(abi.encode("attackClaim", kind))]++;
    }

    function withdraw(uint256 seed) external {
        address[] memory parties = creditedParties();
        address a = parties[seed % parties.length];
        if (vault.credited(a) == 0) return;
        vault.withdrawFor(a);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Registers a derived model as `actor` and checks the outcome against the ghost's prediction.
    function _derive(address actor, uint256 parent, uint256 base, uint256 version)
        internal
        returns (bool ok, uint256 child)
    {
        bytes memory expected = _refusal(parent, base, version);
        Ghost memory p = ghosts[parent];
        vm.prank(actor);
        try models.registerDerivedModel(DATANET, version, _base(base), "bafychildspec", PRICE, parent) returns (
            uint256 id
        ) {
            ok = true;
            child = id;
            if (expected.length != 0) {
                invalidAccepted++;
                if (actor == cast.attacker) attackerInvalidSuccesses++;
            }
            // The pinned job is the handler's own record of the parent's live job at this moment.
            ghosts[id] = Ghost(actor, uint8(base), p.depth + 1, ghostMaxDepth, false, 0, parent, p.liveJob);
            ghostModelCount = id;
            if (p.depth + 1 > deepestReached) deepestReached = p.depth + 1;
            hits["derived"]++;
        } catch (bytes memory reason) {
            if (expected.length == 0) validRefused++;
            else if (keccak256(reason) != keccak256(expected)) wrongRefusal++;
        }
    }

    /// @dev Request, claim, submit and finalize a job of `m`; returns the job.
    function _run(uint256 m, address trainer, uint256 seed) internal returns (uint256 job) {
        vm.prank(ghosts[m].owner);
        job = models.requestTraining(m, BOUNTY);
        vm.prank(trainer);
        models.claimJob(job);
        _submit(job, trainer, seed);
        vm.warp(block.timestamp + models.challengeWindow() + 1);
        models.finalize(job);
    }

    function _train(uint256 m, address trainer) internal {
        _settle(m, _run(m, trainer, m), false);
        hits["train"]++;
    }

    function _submit(uint256 job, address trainer, uint256 seed) internal {
        vm.prank(trainer);
        models.submitResult(job, "bafyadapter", "bafymetrics", keccak256(abi.encode(job, seed)), "bafyreport");
    }

    /// @dev After `job` of `m` finalized: a model not live goes live on it (its providers are always
    ///      active here); a live one changes only when its owner activates the result.
    function _settle(uint256 m, uint256 job, bool activate) internal {
        if (!ghosts[m].live) {
            ghosts[m].live = true;
            ghosts[m].liveJob = job;
        } else if (activate) {
            vm.prank(ghosts[m].owner);
            models.activateResult(job);
            ghosts[m].liveJob = job;
        }
    }

    /// @dev A live model at the depth limit: an existing one, else the attacker derives (validly) and trains
    ///      a chain below the deepest valid parent until one is there.
    function _climbToLimit(uint256 seed) internal returns (uint256 parent) {
        parent = _find(seed, true, ghostMaxDepth);
        if (parent != 0) return parent;
        parent = _validParent(seed, true);
        while (ghosts[parent].depth < ghostMaxDepth) {
            (bool ok, uint256 child) = _derive(cast.attacker, parent, ghosts[parent].base, 1);
            if (!ok) return parent; // flagged by _derive (validRefused)
            _train(child, cast.trainers[seed % cast.trainers.length]);
            parent = child;
        }
    }
}
