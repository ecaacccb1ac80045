// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";
import {WorkerRegistry} from "../../../contracts/model/WorkerRegistry.sol";

/// @notice Drives WorkerRegistry with a few workers; the handler is the one slasher fixed at deployment
///         (slashes to `sink`, locks and unlocks amounts, sometimes more than is free or locked) and also
///         tries, as the admin, to grant SLASHER_ROLE again. Ghost state mirrors what each worker should have.
contract WorkerStakesHandler is Test {
    OpenToken internal token;
    WorkerRegistry internal workers;
    address internal sink = makeAddr("sink");
    address internal admin;
    address[] public actors;

    mapping(address => uint256) public ghostStake;
    mapping(address => uint256) public ghostLocked;
    mapping(address => bool) public ghostRegistered;
    uint256 public ghostSlashed;
    uint256 public ghostWithdrawn;
    /// @notice Set if a withdrawal succeeded that the rules forbid (locked stake or cooldown running).
    bool public badWithdrawal;
    /// @notice Set if a lock beyond the free stake succeeded.
    bool public overLocked;
    /// @notice Set if an unlock beyond the locked stake succeeded.
    bool public overUnlocked;
    /// @notice Set if a slash took stake that was locked.
    bool public lockedSlashed;
    /// @notice Set if anyone (the admin included) obtained SLASHER_ROLE after deployment.
    bool public slasherAdded;

    constructor(OpenToken token_, WorkerRegistry workers_, address[] memory actors_, address admin_) {
        token = token_;
        workers = workers_;
        actors = actors_;
        admin = admin_;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    /// @dev First actor from a seeded start that fits `kind`, so most calls exercise a real transition:
    ///      0 unregistered, 1 registered and not exiting, 2 exiting, 3 registered with stake, 4 locked.
    function _find(uint256 seed, uint8 kind) internal view returns (address a, bool found) {
        for (uint256 k = 0; k < actors.length; k++) {
            a = actors[(seed + k) % actors.length];
            (uint256 stake,, uint64 registeredAt, uint64 exitAt,) = workers.getWorker(a);
            if (kind == 0 && registeredAt == 0) return (a, true);
            if (kind == 1 && registeredAt != 0 && exitAt == 0) return (a, true);
            if (kind == 2 && exitAt != 0) return (a, true);
            if (kind == 3 && stake != 0) return (a, true);
            if (kind == 4 && ghostLocked[a] != 0) return (a, true);
        }
        return (a, false);
    }

    function register(uint256 seed, uint256 amount) external {
        (address a, bool found) = _find(seed, 0);
        if (!found) return;
        amount = bound(amount, workers.minWorkerStake(), token.balanceOf(a));
        vm.prank(a);
        workers.registerWorker(amount, "http://w");
        ghostStake[a] = amount;
        ghostRegistered[a] = true;
    }

    function addStake(uint256 seed, uint256 amount) external {
        (address a, bool found) = _find(seed, 1);
        if (!found) return;
        amount = bound(amount, 1, token.balanceOf(a));
        vm.prank(a);
        workers.addStake(amount);
        ghostStake[a] += amount;
    }

    function requestExit(uint256 seed) external {
        (address a, bool found) = _find(seed, 1);
        if (!found) return;
        vm.prank(a);
        workers.requestExit();
    }

    /// @dev Tried on any exiting worker, locked or cooling down or not: success is checked afterwards.
    function withdrawStake(uint256 seed) external {
        (address a, bool found) = _find(seed, 2);
        if (!found) return;
        (,,, uint64 exitAt,) = workers.getWorker(a);
        vm.prank(a);
        workers.withdrawStake();
        if (ghostLocked[a] != 0 || block.timestamp < exitAt + workers.exitCooldown()) badWithdrawal = true;
        ghostWithdrawn += ghostStake[a];
        ghostStake[a] = 0;
        ghostRegistered[a] = false;
    }

    /// @dev Any amount up to the whole stake: only the free part may be taken (more must revert).
    function slash(uint256 seed, uint256 amount) external {
        (address a, bool found) = _find(seed, 3);
        if (!found) return;
        amount = bound(amount, 1, ghostStake[a]);
        workers.slash(a, amount, sink);
        if (amount > ghostStake[a] - ghostLocked[a]) lockedSlashed = true;
        ghostStake[a] -= amount;
        ghostSlashed += amount;
    }

    /// @dev Usually within the free stake; one call in four asks for more (must revert).
    function lock(uint256 seed, uint256 amount) external {
        address a = _actor(seed);
        if (!ghostRegistered[a]) return;
        uint256 free = ghostStake[a] - ghostLocked[a];
        amount = seed % 4 == 0 ? bound(amount, free + 1, free + 100 ether) : bound(amount, 0, free);
        workers.lock(a, amount);
        if (amount > free) overLocked = true;
        ghostLocked[a] += amount;
    }

    /// @dev Usually within the locked stake; one call in four asks for more (must revert).
    function unlock(uint256 seed, uint256 amount) external {
        (address a, bool found) = _find(seed, 4);
        if (!found) return;
        uint256 locked = ghostLocked[a];
        amount = seed % 4 == 0 ? bound(amount, locked + 1, locked + 100 ether) : bound(amount, 0, locked);
        workers.unlock(a, amount);
        if (amount > locked) overUnlocked = true;
        ghostLocked[a] -= amount > locked ? locked : amount;
    }

    /// @dev Must always revert (SlasherRoleFixed): SLASHER_ROLE is fixed by setSlashers at deployment.
    function grantSlasher(uint256 seed, bool viaSetSlashers) external {
        address target = seed % 2 == 0 ? admin : _actor(seed);
        if (viaSetSlashers) {
            address[] memory list = new address[](1);
            list[0] = target;
            vm.prank(admin);
            workers.setSlashers(list);
        } else {
            bytes32 role = workers.SLASHER_ROLE();
            vm.prank(admin);
            workers.grantRole(role, target);
        }
        slasherAdded = true;
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 8 days));
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function sinkAddress() external view returns (address) {
        return sink;
    }
}

contract WorkerStakesInvariantTest is StdInvariant, Test {
    OpenToken internal token;
    WorkerRegistry internal workers;
    WorkerStakesHandler internal handler;
    address[] internal actors;
    uint256 internal constant SUPPLY = 1_000_000 ether;

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new OpenToken(address(this), SUPPLY);
        workers = new WorkerRegistry(token, address(this));
        for (uint256 i = 0; i < 4; i++) {
            address a = makeAddr(string.concat("worker", vm.toString(i)));
            actors.push(a);
            assertTrue(token.transfer(a, 1_000 ether));
            vm.prank(a);
            token.approve(address(workers), type(uint256).max);
        }
        handler = new WorkerStakesHandler(token, workers, actors, address(this));
        address[] memory slashers = new address[](1);
        slashers[0] = address(handler);
        workers.setSlashers(slashers);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = WorkerStakesHandler.register.selector;
        selectors[1] = WorkerStakesHandler.addStake.selector;
        selectors[2] = WorkerStakesHandler.requestExit.selector;
        selectors[3] = WorkerStakesHandler.withdrawStake.selector;
        selectors[4] = WorkerStakesHandler.slash.selector;
        selectors[5] = WorkerStakesHandler.lock.selector;
        selectors[6] = WorkerStakesHandler.unlock.selector;
        selectors[7] = WorkerStakesHandler.warp.selector;
        selectors[8] = WorkerStakesHandler.grantSlasher.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    function invariant_registryHoldsExactlyTheStakes() public view {
        uint256 sum;
        for (uint256 i = 0; i < actors.length; i++) {
            (uint256 stake,, uint64 registeredAt,,) = workers.getWorker(actors[i]);
            assertEq(stake, handler.ghostStake(actors[i]), "stake matches ghost");
            assertEq(registeredAt != 0, handler.ghostRegistered(actors[i]), "registration matches ghost");
            sum += stake;
        }
        assertEq(token.balanceOf(address(workers)), sum);
    }

    function invariant_lockedMatchesGhostAndNeverExceedsStake() public view {
        assertFalse(handler.overLocked(), "locked beyond the free stake");
        assertFalse(handler.overUnlocked(), "unlocked beyond the locked stake");
        assertFalse(handler.lockedSlashed(), "slashed locked stake");
        for (uint256 i = 0; i < actors.length; i++) {
            uint256 stake = workers.stakeOf(actors[i]);
            uint256 locked = workers.lockedStake(actors[i]);
            assertEq(locked, handler.ghostLocked(actors[i]));
            assertLe(locked, stake);
            assertEq(workers.freeStake(actors[i]), stake - locked);
        }
    }

    function invariant_slasherRoleFixed() public view {
        assertFalse(handler.slasherAdded());
        bytes32 role = workers.SLASHER_ROLE();
        assertTrue(workers.hasRole(role, address(handler)));
        assertFalse(workers.hasRole(role, address(this)));
        for (uint256 i = 0; i < actors.length; i++) {
            assertFalse(workers.hasRole(role, actors[i]));
        }
    }

    function invariant_noWithdrawalWhileLockedOrCooling() public view {
        assertFalse(handler.badWithdrawal());
    }

    function invariant_slashesReachTheRecipient() public view {
        assertEq(token.balanceOf(handler.sinkAddress()), handler.ghostSlashed());
    }

    function invariant_supplyConserved() public view {
        uint256 sum =
            token.balanceOf(address(this)) + token.balanceOf(address(workers)) + token.balanceOf(handler.sinkAddress());
        for (uint256 i = 0; i < actors.length; i++) {
            sum += token.balanceOf(actors[i]);
        }
        assertEq(sum, token.totalSupply());
        assertEq(token.totalSupply(), SUPPLY);
    }
}
