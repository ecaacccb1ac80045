// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {WorkerRegistry} from "../../../contracts/model/WorkerRegistry.sol";
import {WorkerFixtures} from "../utils/WorkerFixtures.sol";

/// @notice WorkerRegistry: slashing, amount locks of free stake, the fixed set of slashers, governance.
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

    /// @dev Stake locked for open work is never slashed: a slash takes free stake only.
    function test_slash_neverTakesLockedStake() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker, 80 ether);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.SlashExceedsStake.selector, worker, 20 ether, 30 ether));
        vm.prank(slasher);
        workers.slash(worker, 30 ether, sink);
        vm.prank(slasher);
        workers.slash(worker, 20 ether, sink);
        assertEq(_stakeOf(worker), 80 ether);
        assertEq(workers.lockedStake(worker), 80 ether, "the lock is untouched");
        assertEq(workers.freeStake(worker), 0);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.SlashExceedsStake.selector, worker, 0, 1));
        vm.prank(slasher);
        workers.slash(worker, 1, sink);
        // Released, the stake is free (and slashable) again.
        vm.prank(slasher);
        workers.unlock(worker, 80 ether);
        vm.prank(slasher);
        workers.slash(worker, 80 ether, sink);
        assertEq(_stakeOf(worker), 0);
    }

    function test_slash_leavesLockUntouched() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker, 30 ether);
        vm.prank(slasher);
        workers.slash(worker, 50 ether, sink);
        assertEq(workers.lockedStake(worker), 30 ether);
        assertEq(workers.freeStake(worker), 20 ether);
    }

    function testFuzz_slash_onlyFreeStake(uint256 locked, uint256 amount) public {
        _registerWorker(worker);
        locked = bound(locked, 0, STAKE);
        amount = bound(amount, 1, STAKE);
        vm.prank(slasher);
        workers.lock(worker, locked);
        if (amount > STAKE - locked) {
            vm.expectRevert(
                abi.encodeWithSelector(IWorkerRegistry.SlashExceedsStake.selector, worker, STAKE - locked, amount)
            );
        }
        vm.prank(slasher);
        workers.slash(worker, amount, sink);
        assertEq(workers.lockedStake(worker), locked);
        assertLe(workers.lockedStake(worker), _stakeOf(worker));
        assertEq(token.balanceOf(sink), amount > STAKE - locked ? 0 : amount);
    }

    // ------------------------------------------------------------------ lock / unlock

    function test_lockUnlock_amountsAndEmit() public {
        _registerWorker(worker);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.WorkerLocked(worker, slasher, 30 ether, 30 ether);
        vm.prank(slasher);
        workers.lock(worker, 30 ether);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.WorkerLocked(worker, slasher, 20 ether, 50 ether);
        vm.prank(slasher);
        workers.lock(worker, 20 ether);
        assertEq(workers.lockedStake(worker), 50 ether);
        assertEq(workers.freeStake(worker), STAKE - 50 ether);
        assertEq(_stakeOf(worker), STAKE, "a lock moves no stake");
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.WorkerUnlocked(worker, slasher, 10 ether, 40 ether);
        vm.prank(slasher);
        workers.unlock(worker, 10 ether);
        assertEq(workers.lockedStake(worker), 40 ether);
        assertEq(workers.freeStake(worker), STAKE - 40 ether);
    }

    function test_lock_wholeFreeStakeThenNothingMore() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker, 60 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IWorkerRegistry.InsufficientFreeStake.selector, worker, 40 ether, 40 ether + 1)
        );
        vm.prank(slasher);
        workers.lock(worker, 40 ether + 1);
        vm.prank(slasher);
        workers.lock(worker, 40 ether);
        assertEq(workers.freeStake(worker), 0);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.InsufficientFreeStake.selector, worker, 0, 1));
        vm.prank(slasher);
        workers.lock(worker, 1);
    }

    function test_lock_zeroAmountIsANoOp() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker, 0);
        assertEq(workers.lockedStake(worker), 0);
    }

    function test_lock_addedStakeBacksMoreWork() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker, STAKE);
        vm.prank(worker);
        workers.addStake(25 ether);
        assertEq(workers.freeStake(worker), 25 ether);
        vm.prank(slasher);
        workers.lock(worker, 25 ether);
        assertEq(workers.lockedStake(worker), STAKE + 25 ether);
    }

    function testFuzz_lock_neverBeyondStake(uint256 first, uint256 second) public {
        _registerWorker(worker);
        first = bound(first, 0, STAKE);
        second = bound(second, 0, 2 * STAKE);
        vm.prank(slasher);
        workers.lock(worker, first);
        if (second > STAKE - first) {
            vm.expectRevert(
                abi.encodeWithSelector(IWorkerRegistry.InsufficientFreeStake.selector, worker, STAKE - first, second)
            );
        }
        vm.prank(slasher);
        workers.lock(worker, second);
        assertLe(workers.lockedStake(worker), _stakeOf(worker));
        assertEq(workers.lockedStake(worker) + workers.freeStake(worker), _stakeOf(worker));
    }

    /// @dev unlock releases exactly what one posted work locked: more than is locked is an accounting bug.
    function test_unlock_revertsAboveLocked() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker, 30 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IWorkerRegistry.UnlockExceedsLocked.selector, worker, 30 ether, 75 ether)
        );
        vm.prank(slasher);
        workers.unlock(worker, 75 ether);
        assertEq(workers.lockedStake(worker), 30 ether);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.WorkerUnlocked(worker, slasher, 30 ether, 0);
        vm.prank(slasher);
        workers.unlock(worker, 30 ether);
        assertEq(workers.freeStake(worker), STAKE);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.UnlockExceedsLocked.selector, worker, 0, 1));
        vm.prank(slasher);
        workers.unlock(worker, 1);
    }

    function test_unlock_ofUnknownWorkerHasNothingToRelease() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.UnlockExceedsLocked.selector, stranger, 0, 1 ether));
        vm.prank(slasher);
        workers.unlock(stranger, 1 ether);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.WorkerUnlocked(stranger, slasher, 0, 0);
        vm.prank(slasher);
        workers.unlock(stranger, 0);
    }

    function test_lock_revertsForNonSlasher() public {
        _registerWorker(worker);
        bytes32 role = workers.SLASHER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, worker, role));
        vm.prank(worker);
        workers.lock(worker, 1 ether);
    }

    function test_unlock_revertsForNonSlasher() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker, 1 ether);
        bytes32 role = workers.SLASHER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, worker, role));
        vm.prank(worker);
        workers.unlock(worker, 1 ether);
    }

    function test_lock_revertsForUnknownWorker() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerNotRegistered.selector, stranger));
        vm.prank(slasher);
        workers.lock(stranger, 1 ether);
    }

    // ------------------------------------------------------------------ setSlashers / SLASHER_ROLE

    function test_setSlashers_grantsOnceAndEmits() public {
        WorkerRegistry fresh = new WorkerRegistry(token, gov);
        address[] memory list = new address[](2);
        list[0] = address(models);
        list[1] = slasher;
        bytes32 role = fresh.SLASHER_ROLE();
        vm.expectEmit(address(fresh));
        emit IAccessControl.RoleGranted(role, address(models), gov);
        vm.expectEmit(address(fresh));
        emit IAccessControl.RoleGranted(role, slasher, gov);
        vm.expectEmit(address(fresh));
        emit IWorkerRegistry.SlashersSet(list);
        vm.prank(gov);
        fresh.setSlashers(list);
        assertTrue(fresh.hasRole(role, address(models)));
        assertTrue(fresh.hasRole(role, slasher));
        // Once only, whatever the list.
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        vm.prank(gov);
        fresh.setSlashers(new address[](0));
    }

    function test_setSlashers_revertsAfterDeploymentWiring() public {
        address[] memory list = new address[](1);
        list[0] = gov;
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        vm.prank(gov);
        workers.setSlashers(list);
        assertFalse(workers.hasRole(workers.SLASHER_ROLE(), gov));
    }

    function test_setSlashers_revertsOnZeroAddressAndStaysUnset() public {
        WorkerRegistry fresh = new WorkerRegistry(token, gov);
        address[] memory list = new address[](2);
        list[0] = slasher;
        vm.expectRevert(IWorkerRegistry.ZeroAddress.selector);
        vm.prank(gov);
        fresh.setSlashers(list);
        assertFalse(fresh.hasRole(fresh.SLASHER_ROLE(), slasher));
        // The reverted call fixed nothing: a correct list still goes through.
        list[1] = address(models);
        vm.prank(gov);
        fresh.setSlashers(list);
        assertTrue(fresh.hasRole(fresh.SLASHER_ROLE(), slasher));
    }

    function test_setSlashers_revertsForNonAdmin() public {
        WorkerRegistry fresh = new WorkerRegistry(token, gov);
        bytes32 admin = fresh.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, admin)
        );
        vm.prank(stranger);
        fresh.setSlashers(new address[](1));
    }

    /// @dev Not even the admin (the timelock in deployments) can add a slasher later, to itself or anyone.
    function test_grantRole_slasherRoleRevertsEvenForAdmin() public {
        bytes32 role = workers.SLASHER_ROLE();
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        vm.prank(gov);
        workers.grantRole(role, gov);
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        vm.prank(gov);
        workers.grantRole(role, stranger);
        assertFalse(workers.hasRole(role, gov));
        assertFalse(workers.hasRole(role, stranger));
        // ... also before setSlashers was ever called.
        WorkerRegistry fresh = new WorkerRegistry(token, gov);
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        vm.prank(gov);
        fresh.grantRole(role, gov);
    }

    /// @dev Revoking (or renouncing) SLASHER_ROLE would freeze every lock and unlock, hence every bounty,
    ///      bond and stake the judging contracts hold: the admin cannot do it either.
    function test_revokeRole_slasherRoleRevertsEvenForAdmin() public {
        bytes32 role = workers.SLASHER_ROLE();
        address slasher = address(models);
        assertTrue(workers.hasRole(role, slasher));
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        vm.prank(gov);
        workers.revokeRole(role, slasher);
        vm.expectRevert(IWorkerRegistry.SlasherRoleFixed.selector);
        vm.prank(slasher);
        workers.renounceRole(role, slasher);
        assertTrue(workers.hasRole(role, slasher));
        // Other roles can still be revoked.
        bytes32 governance = workers.GOVERNANCE_ROLE();
        vm.prank(gov);
        workers.revokeRole(governance, gov);
        assertFalse(workers.hasRole(governance, gov));
    }

    function test_grantRole_slasherRoleByNonAdminFailsAccessControl() public {
        bytes32 role = workers.SLASHER_ROLE();
        bytes32 admin = workers.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, admin)
        );
        vm.prank(stranger);
        workers.grantRole(role, stranger);
    }

    function test_grantRole_otherRolesStillWork() public {
        bytes32 role = workers.GOVERNANCE_ROLE();
        vm.prank(gov);
        workers.grantRole(role, stranger);
        assertTrue(workers.hasRole(role, stranger));
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
