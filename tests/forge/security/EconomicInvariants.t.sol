// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SecurityBase} from "./SecurityBase.sol";
import {EconomicHandler} from "./handlers/EconomicHandler.sol";
import {EconomicState} from "./handlers/EconomicState.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";

/// @notice Economic invariants of issue 12 under random actors, an attacker and a colluding account
///         (see {EconomicHandler}): provider changes need owner consent; posted value is covered by locked
///         collateral; an honest challenger always has an open window and fraud never finalizes; tokens
///         are conserved and every contract holds exactly its liabilities; the attacker + colluder never
///         gain beyond what they legitimately earned; nothing stays stranded once every deadline passed.
///         Runs and depth come from foundry.toml ([invariant] 32 x 32, a few seconds); hunt deeper with
///         e.g. FOUNDRY_INVARIANT_RUNS=64 FOUNDRY_INVARIANT_DEPTH=256.
contract EconomicInvariantsTest is SecurityBase {
    EconomicHandler internal handler;
    uint256[] internal ids;

    function setUp() public override {
        super.setUp();
        ids.push(modelId); // served by the honest worker
        ids.push(_newModelServedBy(attacker)); // one attacker stake behind two models
        ids.push(_newModelServedBy(attacker));
        vm.prank(modelOwner);
        models.setRequester(modelId, requester, true);
        for (uint256 i = 0; i < ids.length; i++) {
            _fillPool(ids[i], 50 ether);
        }
        token.transfer(challenger, 1_000_000 ether); // the watchtower never runs out of bonds
        vault.setClaimPeriod(7 days); // so that runs reach claim deadlines and sweeps

        handler = new EconomicHandler(
            EconomicState.System(token, datanets, workers, models, vault, admin, treasury),
            EconomicState.Cast({
                modelOwner: modelOwner,
                requester: requester,
                honest: honest,
                worker2: worker2,
                attacker: attacker,
                colluder: colluder,
                watchtower: challenger,
                stranger: stranger,
                payer: payer,
                contributor: contributor,
                contributor2: contributor2,
                curator: curator,
                datanetOwner: datanetOwner
            }),
            ids
        );
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: _selectors()}));
    }

    /// @dev What the run exercised (shown with -vvvv or when an invariant fails).
    function _logHits() private {
        string[32] memory names = [
            "pay",
            "postHonestRoot",
            "postFraudRoot",
            "challengeRoot",
            "squatRoot",
            "watchRoot",
            "upheldRoot",
            "rejectedRoot",
            "lapseRoot",
            "finalizeRoot",
            "claimLeaf",
            "sweepRoot",
            "requestJob",
            "claimJob",
            "renewLease",
            "releaseJob",
            "submitHonest",
            "submitFraud",
            "challengeJob",
            "squatJob",
            "watchJob",
            "upheldJob",
            "rejectedJob",
            "lapseJob",
            "finalizeAwaitingOwner",
            "finalizeGoesLive",
            "cancelJob",
            "activateResult",
            "workerExit",
            "workerWithdraw",
            "workerRejoin",
            "addStake"
        ];
        for (uint256 i = 0; i < names.length; i++) {
            emit log_named_uint(string.concat("hits ", names[i]), handler.hits(bytes32(bytes(names[i]))));
        }
    }

    function _selectors() private view returns (bytes4[] memory s) {
        s = new bytes4[](9);
        s[0] = handler.pay.selector;
        s[1] = handler.postRoot.selector;
        s[2] = handler.rootStep.selector;
        s[3] = handler.requestJob.selector;
        s[4] = handler.jobStep.selector;
        s[5] = handler.activateResult.selector;
        s[6] = handler.workerAction.selector;
        s[7] = handler.warp.selector;
        s[8] = handler.watch.selector;
    }

    // ------------------------------------------------------------------ (a) only the owner changes a provider

    function invariant_providerChangesOnlyWithOwnerConsent() public view {
        assertEq(handler.unconsentedProviderChanges(), 0, "provider changed without owner consent");
        assertEq(handler.unauthorizedActivations(), 0, "non-owner activated a result");
        assertEq(handler.unapprovedJobs(), 0, "unapproved account requested training");
    }

    // ------------------------------------------------------------------ (b) stake at risk covers value at risk

    function invariant_postedValueCoveredByCollateral() public view {
        uint256 bps = vault.collateralBps();
        for (uint256 i = 0; i < handler.refCount(); i++) {
            (uint256 id, uint64 epoch,) = handler.refAt(i);
            IRewardVault.Epoch memory e = vault.getEpoch(id, epoch);
            if (e.status != IRewardVault.EpochStatus.Posted && e.status != IRewardVault.EpochStatus.Challenged) {
                continue;
            }
            // Rounded up: the lock is never a wei under the ratio.
            assertEq(e.lockedStake, (uint256(e.total) * bps + BPS - 1) / BPS, "collateral = total * collateralBps");
            assertGe(e.lockedStake * BPS, uint256(e.total) * bps, "collateral never under the ratio");
            assertGe(e.lockedStake, e.total, "collateral >= value posted");
        }
        assertEq(handler.inactivePosts(), 0, "inactive provider posted");
        assertEq(handler.foreignPosts(), 0, "non-provider posted");
    }

    /// @dev Locks are exact: a worker's locked stake is the collateral of its open work (never less, so no
    ///      stake backing open work can be re-used or withdrawn; never more, so nothing stays stuck), and
    ///      it is all still there (a slash takes free stake and the struck work's own collateral only).
    function invariant_lockedStakeCoversOpenCollateral() public view {
        for (uint256 i = 0; i < handler.workerCount(); i++) {
            address w = handler.workerAt(i);
            assertEq(workers.lockedStake(w), handler.openCollateral(w), "locked != collateral of open work");
            assertLe(workers.lockedStake(w), workers.stakeOf(w), "locked above stake");
        }
        assertEq(handler.withdrawalsAheadOfSlash(), 0, "stake withdrawn while work was open");
    }

    // ------------------------------------------------------------------ (c) an honest challenger always gets through

    function invariant_honestChallengerAlwaysHasAWindow() public view {
        for (uint256 i = 0; i < handler.refCount(); i++) {
            (uint256 id, uint64 epoch, bool fraudulent) = handler.refAt(i);
            IRewardVault.Epoch memory e = vault.getEpoch(id, epoch);
            if (fraudulent && e.status == IRewardVault.EpochStatus.Posted) {
                assertLe(block.timestamp, e.deadline, "fraudulent root past its window unchallenged");
            }
            assertTrue(!fraudulent || e.status != IRewardVault.EpochStatus.Finalized, "fraudulent root finalized");
        }
        assertEq(handler.watchtowerMissed(), 0, "watchtower could not challenge");
        assertEq(handler.windowsNotReopened(), 0, "rejected challenge did not reopen a full window");
        assertEq(handler.fraudRootsFinalized(), 0, "fraudulent root finalized");
        assertEq(handler.fraudResultsFinalized(), 0, "fraudulent result finalized");
        assertEq(handler.failedRulings(), 0, "governance could not rule");
    }

    // ------------------------------------------------------------------ (d) tokens are conserved

    function invariant_tokensConserved() public view {
        uint256 sum = token.balanceOf(address(datanets)) + token.balanceOf(address(workers))
            + token.balanceOf(address(models)) + token.balanceOf(address(vault)) + token.balanceOf(address(handler));
        for (uint256 i = 0; i < handler.everyoneCount(); i++) {
            sum += token.balanceOf(handler.everyoneAt(i));
        }
        assertEq(sum, token.totalSupply(), "tokens left the known holders");
        assertEq(token.balanceOf(address(vault)), handler.vaultLiabilities(), "vault != credited + pools + bonds");
        assertEq(token.balanceOf(address(models)), handler.modelLiabilities(), "models != credited + bounties + bonds");
        assertEq(token.balanceOf(address(workers)), handler.totalStakes(), "workers != stakes");
        assertEq(token.balanceOf(address(datanets)), datanets.totalStakeHeld(), "datanets != stakes held");
        assertEq(handler.overcharged(), 0, "a payment charged above maxPrice or to an unservable model");
    }

    // ------------------------------------------------------------------ (e) the attacker and colluder never profit

    function invariant_attackerAndColluderNeverProfit() public view {
        assertLe(handler.pairWealth(), handler.pairStart() + handler.pairLegitIncome(), "attacker pair profited");
    }

    // ------------------------------------------------------------------ (f) nothing stranded past expiry

    function afterInvariant() public {
        _logHits();
        handler.drain();
        invariant_honestChallengerAlwaysHasAWindow();
        invariant_providerChangesOnlyWithOwnerConsent();
        invariant_tokensConserved();
        invariant_attackerAndColluderNeverProfit();
        for (uint256 i = 0; i < ids.length; i++) {
            (, uint256 reserved) = vault.pool(ids[i]);
            assertEq(reserved, 0, "reservation left after every claim deadline");
        }
        for (uint256 i = 0; i < handler.refCount(); i++) {
            (uint256 id, uint64 epoch,) = handler.refAt(i);
            IRewardVault.EpochStatus status = vault.getEpoch(id, epoch).status;
            assertTrue(
                status == IRewardVault.EpochStatus.None || status == IRewardVault.EpochStatus.Swept, "epoch left open"
            );
        }
        for (uint256 i = 0; i < handler.workerCount(); i++) {
            assertEq(workers.lockedStake(handler.workerAt(i)), 0, "stake left locked");
        }
        handler.withdrawAll();
        assertEq(token.balanceOf(address(models)), 0, "tokens stranded in ModelRegistry");
        uint256 available;
        for (uint256 i = 0; i < ids.length; i++) {
            (uint256 a,) = vault.pool(ids[i]);
            available += a;
        }
        assertEq(token.balanceOf(address(vault)), available, "vault holds more than its pools");
    }
}
