// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {WorkerRegistry} from "../../../contracts/model/WorkerRegistry.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {WorkerFixtures} from "../utils/WorkerFixtures.sol";

/// @notice WorkerRegistry: registration, stake, exit and withdrawal.
contract WorkerRegistryTest is WorkerFixtures {
    // ------------------------------------------------------------------ constructor

    function test_constructor_setsRolesAndDefaults() public view {
        assertTrue(workers.hasRole(workers.DEFAULT_ADMIN_ROLE(), gov));
        assertTrue(workers.hasRole(workers.GOVERNANCE_ROLE(), gov));
        assertEq(workers.GOVERNANCE_ROLE(), keccak256("GOVERNANCE_ROLE"));
        assertEq(address(workers.token()), address(token));
        assertEq(workers.minWorkerStake(), STAKE);
        assertEq(workers.exitCooldown(), 7 days);
        assertEq(workers.SLASHER_ROLE(), keccak256("SLASHER_ROLE"));
        // Wired as in deployment: the two judging contracts (and, here, the test slasher) only.
        assertTrue(workers.hasRole(workers.SLASHER_ROLE(), address(models)));
        assertTrue(workers.hasRole(workers.SLASHER_ROLE(), address(vault)));
        assertFalse(workers.hasRole(workers.SLASHER_ROLE(), gov));
    }

    function test_constructor_revertsOnZeroAddresses() public {
        vm.expectRevert(IWorkerRegistry.ZeroAddress.selector);
        new WorkerRegistry(IERC20(address(0)), gov);
        vm.expectRevert(IWorkerRegistry.ZeroAddress.selector);
        new WorkerRegistry(token, address(0));
    }

    // ------------------------------------------------------------------ registerWorker

    function test_registerWorker_escrowsStakeAndEmits() public {
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.WorkerRegistered(worker, STAKE + 1, "http://w", uint64(block.timestamp));
        vm.prank(worker);
        workers.registerWorker(STAKE + 1, "http://w");
        (uint256 stake, string memory endpoint, uint64 registeredAt, uint64 exitAt, bool active) =
            workers.getWorker(worker);
        assertEq(stake, STAKE + 1);
        assertEq(workers.stakeOf(worker), STAKE + 1);
        assertEq(endpoint, "http://w");
        assertEq(registeredAt, block.timestamp);
        assertEq(exitAt, 0);
        assertTrue(active);
        assertTrue(workers.isActiveWorker(worker));
        assertEq(token.balanceOf(address(workers)), STAKE + 1);
        assertEq(token.balanceOf(worker), FUNDS - STAKE - 1);
    }

    function test_registerWorker_revertsBelowMinimum() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.StakeBelowMinimum.selector, STAKE - 1, STAKE));
        vm.prank(worker);
        workers.registerWorker(STAKE - 1, "http://w");
    }

    function test_registerWorker_revertsOnZeroStake() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.StakeBelowMinimum.selector, 0, STAKE));
        vm.prank(worker);
        workers.registerWorker(0, "http://w");
    }

    function test_registerWorker_revertsOnEmptyEndpoint() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.EmptyField.selector, "endpoint"));
        vm.prank(worker);
        workers.registerWorker(STAKE, "");
    }

    function test_registerWorker_revertsWhenAlreadyRegistered() public {
        _registerWorker(worker);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerAlreadyRegistered.selector, worker));
        vm.prank(worker);
        workers.registerWorker(STAKE, "http://w");
    }

    function testFuzz_registerWorker_anyStakeAboveMinimum(uint256 stake) public {
        stake = bound(stake, STAKE, FUNDS);
        vm.prank(worker);
        workers.registerWorker(stake, "http://w");
        assertEq(_stakeOf(worker), stake);
        assertEq(token.balanceOf(address(workers)), stake);
    }

    // ------------------------------------------------------------------ setEndpoint

    function test_setEndpoint_updatesAndEmits() public {
        _registerWorker(worker);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.EndpointUpdated(worker, "http://new");
        vm.prank(worker);
        workers.setEndpoint("http://new");
        (, string memory endpoint,,,) = workers.getWorker(worker);
        assertEq(endpoint, "http://new");
    }

    function test_setEndpoint_revertsForUnknownWorker() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerNotRegistered.selector, stranger));
        vm.prank(stranger);
        workers.setEndpoint("http://new");
    }

    function test_setEndpoint_revertsOnEmpty() public {
        _registerWorker(worker);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.EmptyField.selector, "endpoint"));
        vm.prank(worker);
        workers.setEndpoint("");
    }

    // ------------------------------------------------------------------ addStake

    function test_addStake_increasesStake() public {
        _registerWorker(worker);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.StakeAdded(worker, 5 ether, STAKE + 5 ether);
        vm.prank(worker);
        workers.addStake(5 ether);
        assertEq(_stakeOf(worker), STAKE + 5 ether);
        assertEq(token.balanceOf(address(workers)), STAKE + 5 ether);
    }

    function test_addStake_restoresActivityAfterSlash() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.slash(worker, 1 ether, sink);
        assertFalse(workers.isActiveWorker(worker));
        vm.prank(worker);
        workers.addStake(1 ether);
        assertTrue(workers.isActiveWorker(worker));
    }

    function test_addStake_revertsOnZero() public {
        _registerWorker(worker);
        vm.expectRevert(IWorkerRegistry.ZeroAmount.selector);
        vm.prank(worker);
        workers.addStake(0);
    }

    function test_addStake_revertsForUnknownWorker() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerNotRegistered.selector, stranger));
        vm.prank(stranger);
        workers.addStake(1 ether);
    }

    function test_addStake_revertsWhileExiting() public {
        _registerWorker(worker);
        vm.prank(worker);
        workers.requestExit();
        vm.expectRevert(
            abi.encodeWithSelector(IWorkerRegistry.ExitAlreadyRequested.selector, worker, uint64(block.timestamp))
        );
        vm.prank(worker);
        workers.addStake(1 ether);
    }

    // ------------------------------------------------------------------ requestExit / withdrawStake

    function test_requestExit_deactivatesAndEmits() public {
        _registerWorker(worker);
        uint64 now_ = uint64(block.timestamp);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.ExitRequested(worker, now_, now_ + 7 days);
        vm.prank(worker);
        workers.requestExit();
        (,,, uint64 exitAt, bool active) = workers.getWorker(worker);
        assertEq(exitAt, now_);
        assertFalse(active);
        assertFalse(workers.isActiveWorker(worker));
    }

    function test_requestExit_revertsForUnknownWorker() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerNotRegistered.selector, stranger));
        vm.prank(stranger);
        workers.requestExit();
    }

    function test_requestExit_revertsWhenAlreadyRequested() public {
        _registerWorker(worker);
        vm.prank(worker);
        workers.requestExit();
        vm.warp(block.timestamp + 10);
        vm.expectRevert(
            abi.encodeWithSelector(IWorkerRegistry.ExitAlreadyRequested.selector, worker, uint64(block.timestamp - 10))
        );
        vm.prank(worker);
        workers.requestExit();
    }

    function test_withdrawStake_returnsStakeAndClearsRecord() public {
        _registerWorker(worker);
        vm.prank(worker);
        workers.requestExit();
        vm.warp(block.timestamp + 7 days);
        vm.expectEmit(address(workers));
        emit IWorkerRegistry.StakeWithdrawn(worker, STAKE);
        vm.prank(worker);
        workers.withdrawStake();
        assertEq(token.balanceOf(worker), FUNDS);
        assertEq(token.balanceOf(address(workers)), 0);
        (uint256 stake, string memory endpoint, uint64 registeredAt,,) = workers.getWorker(worker);
        assertEq(stake, 0);
        assertEq(bytes(endpoint).length, 0);
        assertEq(registeredAt, 0);
        // The record is gone: registering again works.
        _registerWorker(worker);
        assertTrue(workers.isActiveWorker(worker));
    }

    function test_withdrawStake_afterFullSlashClearsRecordWithoutTransfer() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.slash(worker, STAKE, sink);
        vm.prank(worker);
        workers.requestExit();
        vm.warp(block.timestamp + 7 days);
        vm.prank(worker);
        workers.withdrawStake();
        assertEq(token.balanceOf(worker), FUNDS - STAKE);
        (,, uint64 registeredAt,,) = workers.getWorker(worker);
        assertEq(registeredAt, 0);
    }

    function test_withdrawStake_revertsForUnknownWorker() public {
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerNotRegistered.selector, stranger));
        vm.prank(stranger);
        workers.withdrawStake();
    }

    function test_withdrawStake_revertsWithoutExitRequest() public {
        _registerWorker(worker);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.ExitNotRequested.selector, worker));
        vm.prank(worker);
        workers.withdrawStake();
    }

    function test_withdrawStake_revertsDuringCooldown() public {
        _registerWorker(worker);
        vm.prank(worker);
        workers.requestExit();
        uint64 at = uint64(block.timestamp) + 7 days;
        vm.warp(at - 1);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.ExitCooldownActive.selector, worker, at));
        vm.prank(worker);
        workers.withdrawStake();
    }

    function test_withdrawStake_usesCooldownInForceAtWithdrawal() public {
        _registerWorker(worker);
        vm.prank(worker);
        workers.requestExit();
        uint64 requested = uint64(block.timestamp);
        vm.prank(gov);
        workers.setExitCooldown(14 days);
        vm.warp(requested + 7 days);
        vm.expectRevert(
            abi.encodeWithSelector(IWorkerRegistry.ExitCooldownActive.selector, worker, requested + 14 days)
        );
        vm.prank(worker);
        workers.withdrawStake();
    }

    function test_withdrawStake_revertsWhileLocked() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker, 40 ether);
        _expectExitBlockedByLocks(worker, 40 ether);
        // Any part still locked blocks the withdrawal.
        vm.prank(slasher);
        workers.unlock(worker, 39 ether);
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerHasActiveLocks.selector, worker, 1 ether));
        vm.prank(worker);
        workers.withdrawStake();
        vm.prank(slasher);
        workers.unlock(worker, 1 ether);
        vm.prank(worker);
        workers.withdrawStake();
        assertEq(token.balanceOf(worker), FUNDS);
    }

    /// @dev A slash only takes free stake: the locked part still backs its work and blocks the exit
    ///      until it is released.
    function test_withdrawStake_afterSlashOfFreeStakeWaitsForUnlock() public {
        _registerWorker(worker);
        vm.prank(slasher);
        workers.lock(worker, 80 ether);
        vm.prank(slasher);
        workers.slash(worker, 20 ether, sink);
        assertEq(workers.lockedStake(worker), 80 ether);
        _expectExitBlockedByLocks(worker, 80 ether);
        vm.prank(slasher);
        workers.unlock(worker, 80 ether);
        vm.prank(worker);
        workers.withdrawStake();
        assertEq(token.balanceOf(worker), FUNDS - 20 ether);
    }

    // ------------------------------------------------------------------ views

    function test_getWorker_unknownIsZero() public view {
        (uint256 stake, string memory endpoint, uint64 registeredAt, uint64 exitAt, bool active) =
            workers.getWorker(stranger);
        assertEq(stake, 0);
        assertEq(bytes(endpoint).length, 0);
        assertEq(registeredAt, 0);
        assertEq(exitAt, 0);
        assertFalse(active);
        assertEq(workers.lockedStake(stranger), 0);
        assertEq(workers.freeStake(stranger), 0);
        assertEq(workers.stakeOf(stranger), 0);
    }
}
