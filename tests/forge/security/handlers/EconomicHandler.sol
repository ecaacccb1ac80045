// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IModelRegistry} from "../../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../../contracts/interfaces/IRewardVault.sol";
import {EconomicSteps} from "./EconomicSteps.sol";

/// @notice Random actors on the real contracts: payers (facing random price changes), honest and attacking
///         providers posting honest or fraudulent epoch roots, an honest watchtower that challenges every
///         fraudulent root/result while its window is open, a colluder squatting challenges with bogus
///         reasons, governance ruling on the work (or misled by a bogus reason into rejecting), lapses,
///         claims with proofs, sweeps, training jobs requested by owners and strangers, worker exits, time.
/// @dev Few fuzz targets so that a 32-call run gets far: {rootStep} and {jobStep} pick a live epoch / job
///      and advance it by 1-3 stages. Expected reverts are swallowed; rule breaks are counted in the ghosts of
///      {EconomicState}; `hits` counts what succeeded.
contract EconomicHandler is EconomicSteps {
    constructor(System memory s, Cast memory c, uint256[] memory ids) EconomicSteps(s, c, ids) {}

    // ------------------------------------------------------------------ fuzz targets

    /// @dev A payer pays for a model, with a maximum price, possibly right after the owner changed it.
    function pay(uint256 payerSeed, uint256 modelSeed, uint256 count, uint256 newPrice, uint256 maxPrice, bool reprice)
        external
        trackProviders
    {
        uint256 id = _model(modelSeed);
        if (reprice) {
            vm.prank(cast.modelOwner);
            models.setPrice(id, bound(newPrice, 0.1 ether, 5 ether)); // the owner front-runs the payment
        }
        _pay(payers[payerSeed % payers.length], id, bound(count, 1, 20), bound(maxPrice, 0.1 ether, 5 ether));
    }

    /// @dev The model's provider (or, with `asAttacker`, the attacker whoever the provider is) posts a
    ///      root over 1-4 leaves; the attacker's may be fraudulent (paying the pair).
    function postRoot(uint256 modelSeed, uint256 totalSeed, uint256 leafSeed, bool fraudWanted, bool asAttacker)
        external
        trackProviders
    {
        _postRoot(_model(modelSeed), totalSeed, leafSeed, fraudWanted, asAttacker);
    }

    /// @dev Advances a live epoch by 1-3 stages: Posted -> squat / watchtower challenge / finalize;
    ///      Challenged -> ruling on the root / misled ruling / lapse; Finalized -> claim / sweep.
    function rootStep(uint256 seed, uint256 choice, uint256 leafSeed) external trackProviders {
        choice = _mix(choice);
        (bool found, uint256 id, uint64 epoch) = _pickLiveEpoch(seed);
        if (!found) {
            _postRoot(_model(seed), leafSeed, leafSeed >> 8, choice % 2 == 0, false);
            return;
        }
        for (uint256 stage = 0; stage < 1 + choice % 3; stage++) {
            _advanceRoot(id, epoch, _mix(choice ^ stage), _mix(leafSeed ^ stage));
        }
    }

    /// @dev The owner, its approved requester, a stranger, the attacker or the colluder asks for training.
    function requestJob(uint256 modelSeed, uint256 whoSeed, uint256 bounty) external trackProviders {
        address[5] memory who = [cast.modelOwner, cast.requester, cast.stranger, cast.attacker, cast.colluder];
        _requestJob(_model(modelSeed), who[whoSeed % who.length], bounty);
    }

    /// @dev Advances a live job by 1-3 stages: Open -> claim / cancel; Claimed -> submit (the attacker's may
    ///      be fraudulent) / renew / release / take over an expired lease / cancel; Submitted -> squat /
    ///      watchtower challenge / finalize; Challenged -> ruling on the result / misled ruling / lapse.
    function jobStep(uint256 seed, uint256 choice, uint256 workerSeed) external trackProviders {
        choice = _mix(choice);
        (bool found, uint256 jobId) = _pickLiveJob(seed, choice % 2 == 0);
        choice = _mix(choice);
        if (!found) {
            _requestJob(_modelNeedingProvider(seed), cast.modelOwner, workerSeed);
            return;
        }
        for (uint256 stage = 0; stage < 1 + choice % 3; stage++) {
            _advanceJob(jobId, _mix(choice ^ stage), _worker(_mix(workerSeed ^ stage)));
        }
    }

    /// @dev The owner (consent) or an outsider (must fail) activates a finalized result.
    function activateResult(uint256 seed, uint256 whoSeed) external trackProviders {
        (bool found, uint256 jobId) = _pickWaitingResult(seed);
        if (!found) return;
        address[4] memory who = [cast.modelOwner, cast.requester, cast.attacker, cast.stranger];
        _activate(jobId, who[whoSeed % who.length]);
    }

    /// @dev A worker asks to exit (rarely), withdraws after the cooldown (or rejoins once gone), or adds stake.
    function workerAction(uint256 seed, uint256 choice, uint256 amount) external trackProviders {
        choice = _mix(choice);
        address w = workerSet[seed % workerSet.length];
        if (choice % 8 == 0) {
            vm.prank(w);
            try workers.requestExit() {
                hits["workerExit"]++;
            } catch {}
        } else if (choice % 8 <= 3) {
            _withdrawOrRejoin(w, amount);
        } else {
            amount = bound(amount, 1 ether, 300 ether);
            if (token.balanceOf(w) < amount) return;
            vm.prank(w);
            try workers.addStake(amount) {
                hits["addStake"]++;
            } catch {}
        }
    }

    /// @dev Time passes (mostly hours, sometimes past rulings and job deadlines, rarely past claim periods);
    ///      before it does, the watchtower challenges every fraudulent root/result still in its window.
    function warp(uint256 seed) external trackProviders {
        watch();
        seed = _mix(seed);
        uint256 step;
        if (seed % 16 == 0) step = vault.claimPeriod() + 1;
        else if (seed % 4 == 0) step = bound(seed >> 8, 7 days, 9 days);
        else step = bound(seed >> 8, 1 hours, 2 days);
        vm.warp(block.timestamp + step);
        if (seed % 3 == 0) _renewLeases(); // lease holders (the attacker too) keep their leases alive
    }

    /// @dev The honest watchtower: every Posted fraudulent root and Submitted fraudulent result must still
    ///      be challengeable, and is challenged now.
    function watch() public {
        for (uint256 i = 0; i < refs.length; i++) {
            (uint256 id, uint64 epoch) = (refs[i].modelId, refs[i].epoch);
            IRewardVault.Epoch memory e = vault.getEpoch(id, epoch);
            if (e.status != IRewardVault.EpochStatus.Posted || !roots[id][epoch].fraudulent) continue;
            if (!_fundBond(cast.watchtower)) watchtowerMissed++;
            vm.prank(cast.watchtower);
            try vault.challengeEpoch(id, epoch, "bafy-root-differs") {
                hits["watchRoot"]++;
            } catch {
                watchtowerMissed++;
            }
        }
        uint256 n = models.jobCount();
        for (uint256 jobId = 1; jobId <= n; jobId++) {
            if (models.getJob(jobId).status != IModelRegistry.JobStatus.Submitted || !fraudJob[jobId]) continue;
            if (!_fundBond(cast.watchtower)) watchtowerMissed++;
            vm.prank(cast.watchtower);
            try models.challengeResult(jobId, "bafy-adapter-differs") {
                hits["watchJob"]++;
            } catch {
                watchtowerMissed++;
            }
        }
    }

    // ------------------------------------------------------------------ end of run (invariant f)

    /// @dev Runs everything out: watchtower, rulings on the merits, past every window, lease and job
    ///      deadline (finalize or cancel everything), past every claim deadline (sweep everything).
    ///      Not a fuzz target: the suite's afterInvariant calls it, then checks nothing is left stranded.
    function drain() external trackProviders {
        for (uint256 round = 0; round < 2; round++) {
            watch();
            _ruleOnAll();
        }
        vm.warp(block.timestamp + models.jobDeadline() + 1);
        for (uint256 i = 0; i < refs.length; i++) {
            if (vault.getEpoch(refs[i].modelId, refs[i].epoch).status == IRewardVault.EpochStatus.Posted) {
                _finalizeRoot(refs[i].modelId, refs[i].epoch);
            }
        }
        uint256 n = models.jobCount();
        for (uint256 jobId = 1; jobId <= n; jobId++) {
            IModelRegistry.Job memory j = models.getJob(jobId);
            if (j.status == IModelRegistry.JobStatus.Submitted) {
                _finalizeJob(jobId);
            } else if (j.status == IModelRegistry.JobStatus.Open || j.status == IModelRegistry.JobStatus.Claimed) {
                vm.prank(j.requester);
                models.cancelJob(jobId);
            }
        }
        vm.warp(block.timestamp + vault.claimPeriod() + 1);
        for (uint256 i = 0; i < refs.length; i++) {
            if (vault.getEpoch(refs[i].modelId, refs[i].epoch).status == IRewardVault.EpochStatus.Finalized) {
                vault.sweepEpoch(refs[i].modelId, refs[i].epoch);
            }
        }
    }

    /// @dev Pays every credited balance out (after {drain}).
    function withdrawAll() external {
        for (uint256 i = 0; i < everyone.length; i++) {
            if (vault.credited(everyone[i]) != 0) vault.withdrawFor(everyone[i]);
            if (models.credited(everyone[i]) != 0) models.withdrawFor(everyone[i]);
        }
    }
}
