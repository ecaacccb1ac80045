// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {WorkerFixtures} from "../utils/WorkerFixtures.sol";

/// @notice WorkerRegistry: slashing, stake locks and governance parameters.
contract WorkerRegistrySlashingTest is WorkerFixtures {
    // ------------------------------------------------------------------ slash

    function test_slash_movesStakeToRecipient() public {
        _registerWorker(worker);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.WorkerSlashed(worker, slasher, sink, 30 ether, STAKE - 30 ether);
        vm.prank(slasher);
        workers.slash(worker, 30 ether, sink);
        assertEq(_stakeOf(worker), STAKE - 30 ether);
        assertEq(token.balanceOf(sink), 30 ether);
        assertEq(token.balanceOf(address(workers)), STAKE - 30 ether);
        assertFalse(workers.isActiveWorker(worker), "below minimum after slash");
    }

    function test_slash_revertsForNonSlasher() public {
        _registerWorker(worker);
        bytes32 role = workers.SLASHER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        workers.slash(worker, 1 ether, sink);
    }

    function test_slash_revertsOnZeroAmount() public {
        _registerWorker(worker);
        vm.expectRevert(IWorkerRegistry.ZeroAmount.selector);
        vm.prank(slasher);
        workers.slash(worker, 0, sink);
    }

    function test_slash_revertsOnZeroRecipient() public {
        _registerWorker(worker);
        vm.expectRevert(IWorkerRegistry.ZeroAddress.selector);
        vm.prank(slasher);
        workers.slash(worker, 1 ether, address(0));
    }

    function test_slash_revertsForUnknownWorker() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerNotRegistered.selector, stranger));
        vm.prank(slasher);
        workers.slash(stranger, 1 ether, sink);
    }

    function test_slash_revertsAboveStake() public {
        _registerWorker(worker);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.SlashExceedsStake.selector, worker, STAKE, STAKE + 1));
        vm.prank(slasher);
        workers.slash(worker, STAKE + 1, sink);
    }

    // ------------------------------------------------------------------ lock / unlock

    function test_lockUnlock_countAndEmit() public {
        _registerWorker(worker);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.WorkerLocked(worker, slasher, 1);
        vm.prank(slasher);
        workers.lock(worker);
        vm.prank(slasher);
        workers.lock(worker);
        assertEq(workers.activeLocks(worker), 2);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.WorkerUnlocked(worker, slasher, 1);
        vm.prank(slasher);
        workers.unlock(worker);
        assertEq(workers.activeLocks(worker), 1);
    }

    function test_lock_revertsForNonSlasher() public {
        _registerWorker(worker);
        bytes32 role = workers.SLASHER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, worker, role));
        vm.prank(worker);
        workers.lock(worker);
    }

    function test_unlock_revertsForNonSlasher() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker);
        bytes32 role = workers.SLASHER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, worker, role));
        vm.prank(worker);
        workers.unlock(worker);
    }

    function test_lock_revertsForUnknownWorker() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerNotRegistered.selector, stranger));
        vm.prank(slasher);
        workers.lock(stranger);
    }

    function test_unlock_revertsWithoutLocks() public {
        _registerWorker(worker);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.NoActiveLocks.selector, worker));
        vm.prank(slasher);
        workers.unlock(worker);
    }

    // ------------------------------------------------------------------ governance

    function test_setMinWorkerStake_updatesActivity() public {
        _registerWorker(worker);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.MinWorkerStakeSet(STAKE + 1);
        vm.prank(gov);
        workers.setMinWorkerStake(STAKE + 1);
        assertEq(workers.minWorkerStake(), STAKE + 1);
        assertFalse(workers.isActiveWorker(worker));
    }

    function test_setMinWorkerStake_revertsOnZero() public {
        vm.expectRevert(IWorkerRegistry.ZeroAmount.selector);
        vm.prank(gov);
        workers.setMinWorkerStake(0);
    }

    function test_setMinWorkerStake_revertsForNonGovernance() public {
        bytes32 role = workers.GOVERNANCE_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        workers.setMinWorkerStake(1);
    }

    function test_setExitCooldown_updates() public {
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.ExitCooldownSet(1 hours);
        vm.prank(gov);
        workers.setExitCooldown(1 hours);
        assertEq(workers.exitCooldown(), 1 hours);
    }

    function test_setExitCooldown_revertsOutOfRange() public {
        uint64 maxWindow = workers.MAX_WINDOW();
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WindowOutOfRange.selector, 0, maxWindow));
        workers.setExitCooldown(0);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WindowOutOfRange.selector, maxWindow + 1, maxWindow));
        workers.setExitCooldown(maxWindow + 1);
        vm.stopPrank();
    }

    function test_setExitCooldown_revertsForNonGovernance() public {
        bytes32 role = workers.GOVERNANCE_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        workers.setExitCooldown(1);
    }
}
