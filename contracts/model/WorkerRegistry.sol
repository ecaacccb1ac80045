// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title WorkerRegistry
/// @notice Holds compute providers' stakes. Workers register with a stake, may exit after a cooldown,
///         and are slashed by the contracts that judge their work (SLASHER_ROLE: ModelRegistry,
///         RewardVault). Those contracts also lock the stake while a worker holds a job lease or an
///         unfinalized epoch root, so a worker cannot exit-and-withdraw ahead of a pending slash.
contract WorkerRegistry is IWorkerRegistry, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice Upper bound for the exit cooldown.
    uint64 public constant MAX_WINDOW = 365 days;

    struct Worker {
        uint256 stake;
        string endpoint;
        uint64 registeredAt;
        uint64 exitRequestedAt;
        uint256 locked;
    }

    IERC20 private immutable _token;
    /// @inheritdoc IWorkerRegistry
    uint256 public minWorkerStake = 100 ether;
    /// @inheritdoc IWorkerRegistry
    uint64 public exitCooldown = 7 days;

    mapping(address worker => Worker) private _workers;
    bool private _slashersSet;

    /// @param token_ the staking token (OPEN).
    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNANCE_ROLE (the timelock in deployments).
    constructor(IERC20 token_, address admin) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNANCE_ROLE, admin);
    }

    // ------------------------------------------------------------------ worker actions

    /// @inheritdoc IWorkerRegistry
    function registerWorker(uint256 stake, string calldata endpoint) external nonReentrant {
        Worker storage w = _workers[msg.sender];
        if (w.registeredAt != 0) revert WorkerAlreadyRegistered(msg.sender);
        if (stake < minWorkerStake) revert StakeBelowMinimum(stake, minWorkerStake);
        if (bytes(endpoint).length == 0) revert EmptyField("endpoint");
        uint64 now_ = uint64(block.timestamp);
        w.stake = stake;
        w.endpoint = endpoint;
        w.registeredAt = now_;
        emit WorkerRegistered(msg.sender, stake, endpoint, now_);
        _token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @inheritdoc IWorkerRegistry
    function setEndpoint(string calldata endpoint) external {
        Worker storage w = _registered(msg.sender);
        if (bytes(endpoint).length == 0) revert EmptyField("endpoint");
        w.endpoint = endpoint;
        emit EndpointUpdated(msg.sender, endpoint);
    }

    /// @inheritdoc IWorkerRegistry
    function addStake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Worker storage w = _registered(msg.sender);
        if (w.exitRequestedAt != 0) revert ExitAlreadyRequested(msg.sender, w.exitRequestedAt);
        w.stake += amount;
        emit StakeAdded(msg.sender, amount, w.stake);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IWorkerRegistry
    function requestExit() external {
        Worker storage w = _registered(msg.sender);
        if (w.exitRequestedAt != 0) revert ExitAlreadyRequested(msg.sender, w.exitRequestedAt);
        uint64 now_ = uint64(block.timestamp);
        w.exitRequestedAt = now_;
        emit ExitRequested(msg.sender, now_, now_ + exitCooldown);
    }

    /// @inheritdoc IWorkerRegistry
    function withdrawStake() external nonReentrant {
        Worker storage w = _registered(msg.sender);
        if (w.exitRequestedAt == 0) revert ExitNotRequested(msg.sender);
        // The cooldown in force at withdrawal time applies, so governance can lengthen it for everyone.
        uint64 withdrawableAt = w.exitRequestedAt + exitCooldown;
        if (block.timestamp < withdrawableAt) revert ExitCooldownActive(msg.sender, withdrawableAt);
        if (w.locked != 0) revert WorkerHasActiveLocks(msg.sender, w.locked);
        uint256 amount = w.stake;
        delete _workers[msg.sender];
        emit StakeWithdrawn(msg.sender, amount);
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ slasher actions

    /// @inheritdoc IWorkerRegistry
    function slash(address worker, uint256 amount, address recipient) external onlyRole(SLASHER_ROLE) nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroAddress();
        Worker storage w = _registered(worker);
        // Only free stake can be slashed: stake locked for other open work keeps backing that work, so
        // `locked <= stake` always holds and every lock stays exact.
        uint256 free = w.stake - w.locked;
        if (amount > free) revert SlashExceedsStake(worker, free, amount);
        w.stake -= amount;
        emit WorkerSlashed(worker, msg.sender, recipient, amount, w.stake);
        _token.safeTransfer(recipient, amount);
    }

    /// @inheritdoc IWorkerRegistry
    function lock(address worker, uint256 amount) external onlyRole(SLASHER_ROLE) {
        Worker storage w = _registered(worker);
        uint256 free = w.stake - w.locked;
        if (amount > free) revert InsufficientFreeStake(worker, free, amount);
        w.locked += amount;
        emit WorkerLocked(worker, msg.sender, amount, w.locked);
    }

    /// @inheritdoc IWorkerRegistry
    function unlock(address worker, uint256 amount) external onlyRole(SLASHER_ROLE) {
        Worker storage w = _workers[worker];
        if (amount > w.locked) revert UnlockExceedsLocked(worker, w.locked, amount);
        w.locked -= amount;
        emit WorkerUnlocked(worker, msg.sender, amount, w.locked);
    }

    /// @inheritdoc IWorkerRegistry
    function setSlashers(address[] calldata slashers) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_slashersSet) revert SlasherRoleFixed();
        _slashersSet = true;
        for (uint256 i = 0; i < slashers.length; ++i) {
            if (slashers[i] == address(0)) revert ZeroAddress();
            _grantRole(SLASHER_ROLE, slashers[i]);
        }
        emit SlashersSet(slashers);
    }

    /// @dev SLASHER_ROLE is never revoked or renounced either: without it the judging contracts could no
    ///      longer lock or unlock, and every bounty, bond and stake they hold would freeze.
    function _revokeRole(bytes32 role, address account) internal override returns (bool) {
        if (role == SLASHER_ROLE) revert SlasherRoleFixed();
        return super._revokeRole(role, account);
    }

    /// @notice Grant `role` to `account`; SLASHER_ROLE cannot be granted this way (see {setSlashers}).
    /// @dev The role's admin. Reverts {SlasherRoleFixed}, AccessControlUnauthorizedAccount.
    function grantRole(bytes32 role, address account) public override onlyRole(getRoleAdmin(role)) {
        if (role == SLASHER_ROLE) revert SlasherRoleFixed();
        _grantRole(role, account);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IWorkerRegistry
    function setMinWorkerStake(uint256 minWorkerStake_) external onlyRole(GOVERNANCE_ROLE) {
        if (minWorkerStake_ == 0) revert ZeroAmount();
        minWorkerStake = minWorkerStake_;
        emit MinWorkerStakeSet(minWorkerStake_);
    }

    /// @inheritdoc IWorkerRegistry
    function setExitCooldown(uint64 exitCooldown_) external onlyRole(GOVERNANCE_ROLE) {
        if (exitCooldown_ == 0 || exitCooldown_ > MAX_WINDOW) revert WindowOutOfRange(exitCooldown_, MAX_WINDOW);
        exitCooldown = exitCooldown_;
        emit ExitCooldownSet(exitCooldown_);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IWorkerRegistry
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @inheritdoc IWorkerRegistry
    function getWorker(address worker)
        external
        view
        returns (uint256 stake, string memory endpoint, uint64 registeredAt, uint64 exitRequestedAt, bool active)
    {
        Worker storage w = _workers[worker];
        return (w.stake, w.endpoint, w.registeredAt, w.exitRequestedAt, _isActive(w));
    }

    /// @inheritdoc IWorkerRegistry
    function isActiveWorker(address worker) external view returns (bool) {
        return _isActive(_workers[worker]);
    }

    /// @inheritdoc IWorkerRegistry
    function stakeOf(address worker) external view returns (uint256) {
        return _workers[worker].stake;
    }

    /// @inheritdoc IWorkerRegistry
    function lockedStake(address worker) external view returns (uint256) {
        return _workers[worker].locked;
    }

    /// @inheritdoc IWorkerRegistry
    function freeStake(address worker) external view returns (uint256) {
        Worker storage w = _workers[worker];
        return w.stake - w.locked;
    }

    // ------------------------------------------------------------------ internals

    function _registered(address worker) private view returns (Worker storage w) {
        w = _workers[worker];
        if (w.registeredAt == 0) revert WorkerNotRegistered(worker);
    }

    function _isActive(Worker storage w) private view returns (bool) {
        return w.registeredAt != 0 && w.exitRequestedAt == 0 && w.stake >= minWorkerStake;
    }
}
