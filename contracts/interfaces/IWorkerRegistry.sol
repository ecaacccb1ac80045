// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IWorkerRegistry
/// @notice Compute providers ("workers"): staked registration, exit with cooldown, slashing, and stake
///         locks that keep a worker's stake in place while it holds a job or an unfinalized epoch root.
/// @dev Amounts are token wei. `SLASHER_ROLE` (ModelRegistry, RewardVault) may slash and lock/unlock.
interface IWorkerRegistry {
    // ------------------------------------------------------------------ events

    /// @notice A worker registered with `stake` tokens escrowed.
    event WorkerRegistered(address indexed worker, uint256 stake, string endpoint, uint64 registeredAt);
    /// @notice A worker changed the endpoint it serves from.
    event EndpointUpdated(address indexed worker, string endpoint);
    /// @notice A worker added `amount` to its stake; `newStake` is its stake afterwards.
    event StakeAdded(address indexed worker, uint256 amount, uint256 newStake);
    /// @notice A worker asked to leave; it may withdraw from `withdrawableAt` (when it holds no locks).
    event ExitRequested(address indexed worker, uint64 requestedAt, uint64 withdrawableAt);
    /// @notice A worker withdrew its whole stake (`amount`) and its record was cleared.
    event StakeWithdrawn(address indexed worker, uint256 amount);
    /// @notice `slasher` took `amount` of the worker's stake and sent it to `recipient`.
    event WorkerSlashed(
        address indexed worker,
        address indexed slasher,
        address indexed recipient,
        uint256 amount,
        uint256 remainingStake
    );
    /// @notice `by` locked the worker's stake (a job lease or an epoch root); `activeLocks` afterwards.
    event WorkerLocked(address indexed worker, address indexed by, uint256 amount, uint256 locked);
    /// @notice `by` released `amount` of the worker's locked stake; `locked` is the total afterwards.
    event WorkerUnlocked(address indexed worker, address indexed by, uint256 amount, uint256 locked);
    /// @notice The contracts that may lock and slash stakes were fixed (once, at deployment).
    event SlashersSet(address[] slashers);
    /// @notice Governance set the minimum stake of an active worker.
    event MinWorkerStakeSet(uint256 minWorkerStake);
    /// @notice Governance set the delay between `requestExit` and `withdrawStake`.
    event ExitCooldownSet(uint64 exitCooldown);

    // ------------------------------------------------------------------ errors

    /// @notice An address argument that must be set was zero.
    error ZeroAddress();
    /// @notice An amount that must be positive was zero.
    error ZeroAmount();
    /// @notice A required string argument (`field`) was empty.
    error EmptyField(string field);
    /// @notice Registration stake below the governance minimum.
    error StakeBelowMinimum(uint256 stake, uint256 minimum);
    /// @notice The caller already has a worker record.
    error WorkerAlreadyRegistered(address worker);
    /// @notice The address has no worker record.
    error WorkerNotRegistered(address worker);
    /// @notice The worker already asked to exit (at `requestedAt`).
    error ExitAlreadyRequested(address worker, uint64 requestedAt);
    /// @notice `withdrawStake` before `requestExit`.
    error ExitNotRequested(address worker);
    /// @notice `withdrawStake` before the cooldown ended at `withdrawableAt`.
    error ExitCooldownActive(address worker, uint64 withdrawableAt);
    /// @notice `withdrawStake` while jobs or epoch roots still lock `locked` of the stake.
    error WorkerHasActiveLocks(address worker, uint256 locked);
    /// @notice A lock of `amount` larger than the stake not yet locked (`free`).
    error InsufficientFreeStake(address worker, uint256 free, uint256 amount);
    /// @notice SLASHER_ROLE is granted once, by {setSlashers}, and never again, nor revoked.
    error SlasherRoleFixed();
    /// @notice A slash larger than the worker's free stake (`free`: stake not locked by other open work).
    error SlashExceedsStake(address worker, uint256 free, uint256 amount);
    /// @notice An unlock of more than the worker's locked stake (a judging contract's accounting bug).
    error UnlockExceedsLocked(address worker, uint256 locked, uint256 amount);
    /// @notice A governance window outside `1..maxValue` seconds.
    error WindowOutOfRange(uint64 value, uint64 maxValue);

    // ------------------------------------------------------------------ worker actions

    /// @notice Register the caller as a worker, escrowing `stake` tokens (needs an allowance).
    /// @dev Anyone. Emits {WorkerRegistered}. Reverts {StakeBelowMinimum}, {EmptyField} ("endpoint"),
    ///      {WorkerAlreadyRegistered}.
    function registerWorker(uint256 stake, string calldata endpoint) external;

    /// @notice Change the caller's advertised endpoint.
    /// @dev Registered worker. Emits {EndpointUpdated}. Reverts {WorkerNotRegistered}, {EmptyField}.
    function setEndpoint(string calldata endpoint) external;

    /// @notice Add `amount` tokens to the caller's stake (needs an allowance).
    /// @dev Registered worker that has not asked to exit. Emits {StakeAdded}. Reverts {ZeroAmount},
    ///      {WorkerNotRegistered}, {ExitAlreadyRequested}.
    function addStake(uint256 amount) external;

    /// @notice Start the exit cooldown; from now on the caller can no longer claim jobs.
    /// @dev Registered worker. Emits {ExitRequested}. Reverts {WorkerNotRegistered}, {ExitAlreadyRequested}.
    function requestExit() external;

    /// @notice After the cooldown, return the caller's whole stake and clear its record.
    /// @dev Worker that requested exit, cooldown over, no active locks. Emits {StakeWithdrawn}.
    ///      Reverts {WorkerNotRegistered}, {ExitNotRequested}, {ExitCooldownActive}, {WorkerHasActiveLocks}.
    function withdrawStake() external;

    // ------------------------------------------------------------------ slasher actions

    /// @notice Take `amount` from `worker`'s free stake (never from stake locked for other open work) and
    ///         transfer it to `recipient`.
    /// @dev SLASHER_ROLE. Emits {WorkerSlashed}. Reverts {ZeroAmount}, {ZeroAddress},
    ///      {WorkerNotRegistered}, {SlashExceedsStake}.
    function slash(address worker, uint256 amount, address recipient) external;

    /// @notice Lock `amount` of `worker`'s free stake as collateral for work it posts (a job it holds, an
    ///         epoch root): locked stake cannot be withdrawn or back other work until it is unlocked.
    /// @dev SLASHER_ROLE. Emits {WorkerLocked}. Reverts {WorkerNotRegistered}, {InsufficientFreeStake}.
    function lock(address worker, uint256 amount) external;

    /// @notice Release `amount` of `worker`'s locked stake (the collateral one posted work locked).
    /// @dev SLASHER_ROLE. Emits {WorkerUnlocked}. Reverts {UnlockExceedsLocked}.
    function unlock(address worker, uint256 amount) external;

    /// @notice Give SLASHER_ROLE to the contracts that judge workers' work; callable once. Afterwards
    ///         nobody (not even the timelock) can grant SLASHER_ROLE, so no one can slash at will.
    /// @dev DEFAULT_ADMIN_ROLE, once. Emits {SlashersSet}, RoleGranted. Reverts {SlasherRoleFixed}.
    function setSlashers(address[] calldata slashers) external;

    // ------------------------------------------------------------------ governance

    /// @notice Set the minimum stake to register and to stay an active worker.
    /// @dev GOVERNANCE_ROLE. Emits {MinWorkerStakeSet}. Reverts {ZeroAmount}.
    function setMinWorkerStake(uint256 newMinWorkerStake) external;

    /// @notice Set the exit cooldown in seconds (1 .. MAX_WINDOW).
    /// @dev GOVERNANCE_ROLE. Emits {ExitCooldownSet}. Reverts {WindowOutOfRange}.
    function setExitCooldown(uint64 newExitCooldown) external;

    // ------------------------------------------------------------------ views

    /// @notice The staking token.
    function token() external view returns (IERC20);

    /// @notice Worker record; all zero for an unknown address. `active` as in {isActiveWorker}.
    function getWorker(address worker)
        external
        view
        returns (uint256 stake, string memory endpoint, uint64 registeredAt, uint64 exitRequestedAt, bool active);

    /// @notice Registered, not exiting, and stake >= minWorkerStake: may claim jobs.
    function isActiveWorker(address worker) external view returns (bool);

    /// @notice Current stake of `worker` (0 for an unknown address).
    function stakeOf(address worker) external view returns (uint256);

    /// @notice Stake locked as collateral by open obligations (job leases, unfinalized epoch roots).
    function lockedStake(address worker) external view returns (uint256);

    /// @notice Stake not locked: what new work of `worker` can still be backed by.
    function freeStake(address worker) external view returns (uint256);

    /// @notice Minimum stake of an active worker.
    function minWorkerStake() external view returns (uint256);

    /// @notice Seconds between `requestExit` and `withdrawStake`.
    function exitCooldown() external view returns (uint64);
}
