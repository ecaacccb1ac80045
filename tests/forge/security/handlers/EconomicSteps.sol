// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IModelRegistry} from "../../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../../contracts/interfaces/IRewardVault.sol";
import {MerkleHelper} from "../../utils/MerkleHelper.sol";
import {EconomicState} from "./EconomicState.sol";

/// @notice The single steps {EconomicHandler} is made of: each performs one action of one actor on the
///         real contracts, swallows the expected reverts, and books successes (`hits`) and rule breaks
///         (the ghosts of {EconomicState}). Governance judges challenges on the work itself: upheld iff the
///         root/result is fraudulent, unless a colluder's bogus reason misleads it into rejecting.
abstract contract EconomicSteps is EconomicState {
    constructor(System memory s, Cast memory c, uint256[] memory ids) EconomicState(s, c, ids) {}

    // ------------------------------------------------------------------ stage dispatch

    function _advanceRoot(uint256 id, uint64 epoch, uint256 choice, uint256 leafSeed) internal {
        IRewardVault.EpochStatus status = vault.getEpoch(id, epoch).status;
        if (status == IRewardVault.EpochStatus.Posted) {
            if (choice % 5 == 0) _challengeRoot(id, epoch, cast.colluder);
            else if (choice % 5 == 1 && roots[id][epoch].fraudulent) _challengeRoot(id, epoch, cast.watchtower);
            else _finalizeRoot(id, epoch);
        } else if (status == IRewardVault.EpochStatus.Challenged) {
            if (choice % 3 == 2) _lapseRoot(id, epoch);
            else _ruleOnRoot(id, epoch, choice % 3 == 1);
        } else if (status == IRewardVault.EpochStatus.Finalized) {
            if (choice % 4 != 0) {
                _claimLeaf(id, epoch, leafSeed);
            } else {
                try vault.sweepEpoch(id, epoch) {
                    hits["sweepRoot"]++;
                } catch {}
            }
        }
    }

    function _advanceJob(uint256 jobId, uint256 choice, address w) internal {
        IModelRegistry.Job memory j = models.getJob(jobId);
        if (j.status == IModelRegistry.JobStatus.Open) {
            if (choice % 4 == 3) _cancelJob(jobId, j.requester);
            else _claimJob(jobId, w);
        } else if (j.status == IModelRegistry.JobStatus.Claimed) {
            _leaseStep(jobId, j, w, choice);
        } else if (j.status == IModelRegistry.JobStatus.Submitted) {
            if (choice % 5 == 0) _challengeJob(jobId, cast.colluder);
            else if (choice % 5 == 1 && fraudJob[jobId]) _challengeJob(jobId, cast.watchtower);
            else _finalizeJob(jobId);
        } else if (j.status == IModelRegistry.JobStatus.Finalized) {
            if (choice % 2 == 0) _activate(jobId, cast.modelOwner); // the owner accepts the new result
        } else if (j.status == IModelRegistry.JobStatus.Challenged) {
            if (choice % 3 == 2) _lapseJob(jobId);
            else _ruleOnJob(jobId, choice % 3 == 1);
        }
    }

    function _activate(uint256 jobId, address caller) internal {
        IModelRegistry.Job memory j = models.getJob(jobId);
        vm.prank(caller);
        try models.activateResult(jobId) {
            hits["activateResult"]++;
            if (caller != models.getModel(j.modelId).owner) unauthorizedActivations++;
            else _consent(j.modelId, j.worker);
        } catch {}
    }

    function _renewLeases() internal {
        uint256 n = models.jobCount();
        for (uint256 jobId = 1; jobId <= n; jobId++) {
            IModelRegistry.Job memory j = models.getJob(jobId);
            if (j.status != IModelRegistry.JobStatus.Claimed) continue;
            vm.prank(j.worker);
            try models.renewLease(jobId) {
                hits["renewLease"]++;
            } catch {}
        }
    }

    // ------------------------------------------------------------------ payments and roots

    function _pay(address p, uint256 id, uint256 count, uint256 maxPrice) internal {
        (bool servable, uint256 price,, address provider) = models.paymentTerms(id);
        uint256 before = token.balanceOf(p);
        uint256 providerCredit = vault.credited(provider);
        vm.prank(p);
        try vault.payForInference(id, count, maxPrice, bytes32(count)) {
            hits["pay"]++;
            uint256 paid = before - token.balanceOf(p);
            if (!servable || price > maxPrice || paid > maxPrice * count) overcharged++;
            if (provider == cast.attacker) pairLegitIncome += vault.credited(provider) - providerCredit;
        } catch {
            if (token.balanceOf(p) != before) overcharged++;
        }
    }

    function _postRoot(uint256 id, uint256 totalSeed, uint256 leafSeed, bool fraudWanted, bool asAttacker) internal {
        address provider = models.computeProviderOf(id);
        address poster = asAttacker ? cast.attacker : provider;
        if (poster == address(0)) return;
        (uint256 available,) = vault.pool(id);
        if (available == 0) return;
        bool fraudulent = poster == cast.attacker && fraudWanted;
        bool posted = _postAs(poster, id, bound(totalSeed, 1, available), leafSeed, fraudulent);
        if (posted && poster != provider) foreignPosts++;
    }

    function _postAs(address poster, uint256 id, uint256 total, uint256 leafSeed, bool fraudulent)
        internal
        returns (bool posted)
    {
        (address[] memory accounts, uint256[] memory amounts) = _leaves(total, leafSeed, fraudulent);
        bytes32 root = MerkleHelper.buildTree(MerkleHelper.leaves(accounts, amounts))[0];
        uint64 epoch = _postableEpoch(id);
        bool active = workers.isActiveWorker(poster);
        vm.prank(poster);
        try vault.postEpochRoot(id, epoch, root, total, "bafy-report") {
            if (!active) inactivePosts++;
            _recordRoot(id, epoch, fraudulent, accounts, amounts);
            hits[fraudulent ? bytes32("postFraudRoot") : bytes32("postHonestRoot")]++;
            posted = true;
        } catch {}
    }

    function _challengeRoot(uint256 id, uint64 epoch, address challenger) internal {
        if (!_fundBond(challenger)) return;
        bool squat = challenger == cast.colluder;
        vm.prank(challenger);
        try vault.challengeEpoch(id, epoch, squat ? "bafy-bogus" : "bafy-root-differs") {
            hits[squat ? bytes32("squatRoot") : bytes32("challengeRoot")]++;
        } catch {}
    }

    /// @dev Governance rules on the root: upheld iff fraudulent, unless a colluder's bogus reason misled it
    ///      into rejecting (the worst case for the honest challenger's window).
    function _ruleOnRoot(uint256 id, uint64 epoch, bool misled) internal {
        IRewardVault.Epoch memory e = vault.getEpoch(id, epoch);
        bool upheld = roots[id][epoch].fraudulent && !(misled && e.dispute.challenger == cast.colluder);
        if (upheld && models.computeProviderOf(id) == e.poster) _consent(id, address(0)); // revocation
        vm.prank(gov);
        try vault.resolveEpochChallenge(id, epoch, upheld) {
            hits[upheld ? bytes32("upheldRoot") : bytes32("rejectedRoot")]++;
            if (upheld) {
                delete roots[id][epoch];
            } else if (vault.getEpoch(id, epoch).deadline < block.timestamp + vault.challengeWindow()) {
                windowsNotReopened++;
            }
        } catch {
            failedRulings++;
        }
    }

    function _lapseRoot(uint256 id, uint64 epoch) internal {
        vm.prank(cast.stranger);
        try vault.lapseEpochChallenge(id, epoch) {
            hits["lapseRoot"]++;
        } catch {}
    }

    function _finalizeRoot(uint256 id, uint64 epoch) internal {
        try vault.finalizeEpoch(id, epoch) {
            hits["finalizeRoot"]++;
            if (roots[id][epoch].fraudulent) fraudRootsFinalized++;
        } catch {}
    }

    /// @dev Anyone claims a leaf for its account with a proof built from the posted leaves.
    function _claimLeaf(uint256 id, uint64 epoch, uint256 leafSeed) internal {
        RootInfo storage r = roots[id][epoch];
        uint256 index = leafSeed % r.accounts.length;
        bytes32[] memory proof = _proof(id, epoch, index);
        vm.prank(cast.stranger);
        try vault.claim(id, epoch, index, r.accounts[index], r.amounts[index], proof) {
            hits["claimLeaf"]++;
        } catch {}
    }

    // ------------------------------------------------------------------ jobs

    function _requestJob(uint256 id, address req, uint256 bounty) internal {
        bool approved = _isApproved(id, req);
        bounty = bound(bounty, 1, 20 ether);
        vm.prank(req);
        try models.requestTraining(id, bounty) {
            hits["requestJob"]++;
            if (!approved) unapprovedJobs++;
        } catch {}
    }

    function _claimJob(uint256 jobId, address w) internal {
        vm.prank(w);
        try models.claimJob(jobId) {
            hits["claimJob"]++;
        } catch {}
    }

    function _leaseStep(uint256 jobId, IModelRegistry.Job memory j, address w, uint256 choice) internal {
        uint256 c = choice % 8;
        if (c <= 3) {
            bool fraudulent = j.worker == cast.attacker && c <= 1;
            vm.prank(j.worker);
            try models.submitResult(
                jobId, fraudulent ? "bafy-fake-adapter" : "bafy-adapter", "bafy-metrics", keccak256("attr"), "bafy-r"
            ) {
                fraudJob[jobId] = fraudulent;
                hits[fraudulent ? bytes32("submitFraud") : bytes32("submitHonest")]++;
            } catch {}
        } else if (c == 4) {
            vm.prank(j.worker);
            try models.renewLease(jobId) {
                hits["renewLease"]++;
            } catch {}
        } else if (c == 5) {
            vm.prank(j.worker);
            try models.releaseJob(jobId) {
                hits["releaseJob"]++;
            } catch {}
        } else if (c == 6) {
            _claimJob(jobId, w); // take over an expired lease
        } else {
            _cancelJob(jobId, j.requester);
        }
    }

    function _challengeJob(uint256 jobId, address challenger) internal {
        if (!_fundBond(challenger)) return;
        bool squat = challenger == cast.colluder;
        vm.prank(challenger);
        try models.challengeResult(jobId, squat ? "bafy-bogus" : "bafy-adapter-differs") {
            hits[squat ? bytes32("squatJob") : bytes32("challengeJob")]++;
        } catch {}
    }

    function _ruleOnJob(uint256 jobId, bool misled) internal {
        IModelRegistry.Job memory j = models.getJob(jobId);
        bool upheld = fraudJob[jobId] && !(misled && j.dispute.challenger == cast.colluder);
        vm.prank(gov);
        try models.resolveChallenge(jobId, upheld) {
            hits[upheld ? bytes32("upheldJob") : bytes32("rejectedJob")]++;
            if (upheld) {
                fraudJob[jobId] = false;
            } else if (models.getJob(jobId).challengeDeadline < block.timestamp + models.challengeWindow()) {
                windowsNotReopened++;
            }
        } catch {
            failedRulings++;
        }
    }

    function _lapseJob(uint256 jobId) internal {
        vm.prank(cast.stranger);
        try models.lapseChallenge(jobId) {
            fraudJob[jobId] = false;
            hits["lapseJob"]++;
        } catch {}
    }

    /// @dev Anyone finalizes; the model goes live with this result only if it had no active provider,
    ///      the job was asked for by its owner or an approved requester, and its worker is not a provider
    ///      the model revoked (that one waits for the owner's activateResult).
    function _finalizeJob(uint256 jobId) internal {
        IModelRegistry.Job memory j = models.getJob(jobId);
        (bool servable,,,) = models.paymentTerms(j.modelId);
        bool revoked = models.isRevokedProvider(j.modelId, j.worker);
        if (!servable && !revoked && _isApproved(j.modelId, j.requester)) _consent(j.modelId, j.worker);
        try models.finalize(jobId) {
            hits[servable ? bytes32("finalizeAwaitingOwner") : bytes32("finalizeGoesLive")]++;
            if (fraudJob[jobId]) fraudResultsFinalized++;
            else if (j.worker == cast.attacker) pairLegitIncome += j.bounty;
        } catch {}
    }

    function _cancelJob(uint256 jobId, address requester) internal {
        vm.prank(requester);
        try models.cancelJob(jobId) {
            hits["cancelJob"]++;
        } catch {}
    }

    function _ruleOnAll() internal {
        for (uint256 i = 0; i < refs.length; i++) {
            (uint256 id, uint64 epoch) = (refs[i].modelId, refs[i].epoch);
            if (vault.getEpoch(id, epoch).status == IRewardVault.EpochStatus.Challenged) _ruleOnRoot(id, epoch, false);
        }
        uint256 n = models.jobCount();
        for (uint256 jobId = 1; jobId <= n; jobId++) {
            if (models.getJob(jobId).status == IModelRegistry.JobStatus.Challenged) _ruleOnJob(jobId, false);
        }
    }

    // ------------------------------------------------------------------ workers and helpers

    /// @dev Withdraw after the cooldown (counted as a rule break if the worker still has open work);
    ///      rejoin with a fresh stake once the record is gone.
    function _withdrawOrRejoin(address w, uint256 stake) internal {
        (,, uint64 registeredAt,,) = workers.getWorker(w);
        if (registeredAt == 0) {
            stake = bound(stake, workers.minWorkerStake(), 600 ether);
            if (token.balanceOf(w) < stake) return;
            vm.prank(w);
            workers.registerWorker(stake, "https://rejoined");
            hits["workerRejoin"]++;
            return;
        }
        uint256 obligations = openCollateral(w);
        vm.prank(w);
        try workers.withdrawStake() {
            hits["workerWithdraw"]++;
            if (obligations != 0) withdrawalsAheadOfSlash++;
        } catch {}
    }

    /// @dev Honest roots pay contributors; fraudulent ones pay the attacker and the colluder.
    function _leaves(uint256 total, uint256 seed, bool fraudulent)
        internal
        view
        returns (address[] memory accounts, uint256[] memory amounts)
    {
        uint256 n = 1 + seed % 4;
        if (n > total) n = total;
        accounts = new address[](n);
        amounts = new uint256[](n);
        address[4] memory honestPayees = [cast.contributor, cast.contributor2, cast.curator, cast.datanetOwner];
        uint256 left = total;
        for (uint256 i = 0; i < n; i++) {
            accounts[i] = fraudulent ? (i % 2 == 0 ? cast.attacker : cast.colluder) : honestPayees[i];
            amounts[i] = i + 1 == n ? left : total / n;
            left -= amounts[i];
        }
    }

    /// @dev A model without an active provider if there is one (its owner wants a new one), else any.
    function _modelNeedingProvider(uint256 seed) internal view returns (uint256) {
        for (uint256 i = 0; i < modelIds.length; i++) {
            (bool servable,,,) = models.paymentTerms(modelIds[i]);
            if (!servable) return modelIds[i];
        }
        return _model(seed);
    }

    /// @dev A worker to act, the attacker half of the time.
    function _worker(uint256 x) internal view returns (address) {
        return x % 2 == 0 ? cast.attacker : (x % 4 == 1 ? cast.honest : cast.worker2);
    }

    /// @dev Spreads a fuzzed choice uniformly (the fuzzer favours 0 and other edge values).
    function _mix(uint256 x) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(x)));
    }

    /// @dev Makes sure `who` can escrow a challenge bond (pulling its credited payouts if needed).
    function _fundBond(address who) internal returns (bool) {
        uint256 bond = vault.challengeBond() > models.challengeBond() ? vault.challengeBond() : models.challengeBond();
        if (token.balanceOf(who) >= bond) return true;
        if (vault.credited(who) != 0) vault.withdrawFor(who);
        if (models.credited(who) != 0) models.withdrawFor(who);
        return token.balanceOf(who) >= bond;
    }
}
