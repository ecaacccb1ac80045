// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SecurityBase} from "./SecurityBase.sol";

/// @notice Stake at risk after a slash (issue 12, item 3): one worker's stake backs several open works
///         (roots, jobs) through amount locks in WorkerRegistry. A slash whose floor (slashAmount) is above
///         the struck work's collateral must not take, or free, stake locked for the worker's other open
///         work: these tests try to re-use or withdraw such stake. (Both attacks succeeded against the first
///         v2 draft, where a slash capped `locked` at the remaining stake and unlocks saturated.)
contract CollateralAccountingTest is SecurityBase {
    /// Attack: after a small fraudulent root is struck (slash floor 100 > its 15 collateral), the attacker
    /// re-uses stake that backs its other open root to post a new one.
    function test_StakeBackingOpenRootsCannotBackNewRoots() public {
        uint256 modelA = _newModelServedBy(attacker);
        uint256 modelB = _newModelServedBy(attacker);
        uint256 modelC = _newModelServedBy(attacker);
        _fillPool(modelA, 10 ether);
        _fillPool(modelB, 130 ether);
        _fillPool(modelC, 10 ether);
        uint64 epochA = _post(modelA, attacker, _rootOne(attacker, 10 ether), 10 ether); // locks 15
        uint64 epochB = _post(modelB, attacker, _rootOne(attacker, 130 ether), 130 ether); // locks 195; free 90

        vm.prank(challenger);
        vault.challengeEpoch(modelA, epochA, "bafy-root-differs");
        vault.resolveEpochChallenge(modelA, epochA, true);
        assertEq(workers.lockedStake(attacker), 195 ether, "B keeps its whole collateral");
        assertLe(workers.freeStake(attacker), 5 ether, "at most 300 - 100 - 195 is free");
        assertTrue(workers.isActiveWorker(attacker));

        uint64 epochC = vault.nextEpoch(modelC);
        vm.prank(attacker);
        (bool posted,) = address(vault)
            .call(
                abi.encodeCall(vault.postEpochRoot, (modelC, epochC, _rootOne(attacker, 10 ether), 10 ether, "bafy-r"))
            );
        assertFalse(posted, "stake backing B backed a new root");
        uint256 openValue = _reserved(modelB) + _reserved(modelC);
        assertLe(openValue * COLLATERAL_BPS, workers.stakeOf(attacker) * BPS, "open value <= stake / ratio");

        // B's fraud still costs at least its whole collateral.
        uint256 stakeBefore = workers.stakeOf(attacker);
        vm.prank(challenger);
        vault.challengeEpoch(modelB, epochB, "bafy-root-differs");
        vault.resolveEpochChallenge(modelB, epochB, true);
        assertGe(stakeBefore - workers.stakeOf(attacker), 195 ether, "B slashed >= its collateral");
    }

    /// Attack: one root is struck, another finalizes and releases its collateral, and the attacker exits and
    /// withdraws its stake while a third (fraudulent) root is still under challenge, ahead of the ruling.
    function test_WorkerCannotWithdrawAheadOfPendingSlash() public {
        uint256 model = _newModelServedBy(attacker);
        _fillPool(model, 200 ether);
        uint64 a = _post(model, attacker, _rootOne(attacker, 10 ether), 10 ether); // locks 15 (fraud)
        uint64 b = _post(model, attacker, _rootOne(attacker, 40 ether), 40 ether); // locks 60 (fraud)
        uint64 d = _post(model, attacker, _rootOne(contributor, 150 ether), 150 ether); // locks 225 (honest)
        assertEq(workers.freeStake(attacker), 0);
        vm.prank(attacker);
        workers.requestExit();

        vm.prank(challenger);
        vault.challengeEpoch(model, a, "bafy-root-differs");
        vault.resolveEpochChallenge(model, a, true);
        vm.warp(_epoch(model, b).deadline);
        vm.prank(challenger);
        vault.challengeEpoch(model, b, "bafy-root-differs"); // ruling deadline: now + 7 days
        vm.warp(block.timestamp + 1);
        vault.finalizeEpoch(model, d); // releases D's 225
        assertGe(workers.lockedStake(attacker), 60 ether, "B's collateral still locked");

        vm.warp(block.timestamp + 7 days - 2); // exit cooldown over, B's ruling period still running
        assertLt(block.timestamp, _epoch(model, b).dispute.rulingDeadline);
        vm.prank(attacker);
        (bool withdrew,) = address(workers).call(abi.encodeCall(workers.withdrawStake, ()));
        uint256 stakeBefore = workers.stakeOf(attacker);
        vault.resolveEpochChallenge(model, b, true); // governance rules in time
        assertFalse(withdrew, "withdrew the stake ahead of a pending slash");
        assertGe(stakeBefore - workers.stakeOf(attacker), 60 ether, "fraud B went unslashed");
    }
}
