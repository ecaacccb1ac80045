// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IChallengeSettlement} from "../interfaces/IChallengeSettlement.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title ChallengeSettlement
/// @notice Base of the contracts where workers post challengeable work (ModelRegistry: training results;
///         RewardVault: epoch roots). Holds the governance-set challenge parameters and their setters, the
///         pull-payment balances (`credited`, {withdraw}), and the money side of an upheld challenge.
/// @dev The derived contract keeps its own records, challenge flow and resolution event; it calls
///      {_credit} for every payout and, on an upheld challenge, {_creditUpheld} then {_slashAndUnlock}.
///      Needs SLASHER_ROLE on the WorkerRegistry.
abstract contract ChallengeSettlement is IChallengeSettlement, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    /// @notice Upper bound for governance-set windows (challenge window, lease length).
    uint64 public constant MAX_WINDOW = 365 days;
    uint256 internal constant BPS = 10_000;

    IERC20 public immutable token;
    IWorkerRegistry public immutable workerRegistry;

    uint64 public challengeWindow = 1 days;
    uint256 public challengeBond = 100 ether;
    uint256 public slashAmount = 100 ether;
    uint16 public challengerRewardBps = 5_000;
    address public treasury;

    /// @inheritdoc IChallengeSettlement
    mapping(address account => uint256) public credited;

    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNANCE_ROLE (the timelock in deployments).
    constructor(IERC20 token_, IWorkerRegistry workerRegistry_, address treasury_, address admin) {
        if (
            address(token_) == address(0) || address(workerRegistry_) == address(0) || treasury_ == address(0)
                || admin == address(0)
        ) revert ZeroAddress();
        token = token_;
        workerRegistry = workerRegistry_;
        treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNANCE_ROLE, admin);
    }

    // ------------------------------------------------------------------ payouts

    /// @inheritdoc IChallengeSettlement
    function withdraw() external nonReentrant {
        _withdraw(msg.sender);
    }

    /// @inheritdoc IChallengeSettlement
    function withdrawFor(address account) external nonReentrant {
        _withdraw(account);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IChallengeSettlement
    function setChallengeWindow(uint64 value) external onlyRole(GOVERNANCE_ROLE) {
        _checkWindow(value);
        challengeWindow = value;
        emit ChallengeWindowSet(value);
    }

    /// @inheritdoc IChallengeSettlement
    function setChallengeBond(uint256 value) external onlyRole(GOVERNANCE_ROLE) {
        if (value == 0) revert ZeroAmount();
        challengeBond = value;
        emit ChallengeBondSet(value);
    }

    /// @inheritdoc IChallengeSettlement
    function setSlashAmount(uint256 value) external onlyRole(GOVERNANCE_ROLE) {
        if (value == 0) revert ZeroAmount();
        slashAmount = value;
        emit SlashAmountSet(value);
    }

    /// @inheritdoc IChallengeSettlement
    function setChallengerRewardBps(uint16 value) external onlyRole(GOVERNANCE_ROLE) {
        if (value > BPS) revert BpsOutOfRange(value);
        challengerRewardBps = value;
        emit ChallengerRewardBpsSet(value);
    }

    /// @inheritdoc IChallengeSettlement
    function setTreasury(address value) external onlyRole(GOVERNANCE_ROLE) {
        if (value == address(0)) revert ZeroAddress();
        treasury = value;
        emit TreasurySet(value);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Adds `amount` to what `account` may withdraw; a zero amount is skipped (no event).
    function _credit(address account, uint256 amount) internal {
        if (amount == 0) return;
        uint256 balance = credited[account] + amount;
        credited[account] = balance;
        emit Credited(account, amount, balance);
    }

    /// @dev Money side of an upheld challenge against `worker`'s work, before the stake moves: the slash
    ///      is min(slashAmount, stake) (so a drained stake cannot block the ruling); the challenger is
    ///      credited `bond` + challengerRewardBps of it, the treasury the rest. The caller updates its
    ///      records first, emits its resolution event with the returned figures, then {_slashAndUnlock}.
    function _creditUpheld(address worker, address challenger, uint256 bond)
        internal
        returns (uint256 slashed, uint256 challengerPayout, uint256 treasuryPayout)
    {
        uint256 stake = workerRegistry.stakeOf(worker);
        slashed = slashAmount < stake ? slashAmount : stake;
        uint256 reward = slashed * challengerRewardBps / BPS;
        challengerPayout = bond + reward;
        treasuryPayout = slashed - reward;
        _credit(challenger, challengerPayout);
        _credit(treasury, treasuryPayout);
    }

    /// @dev Takes the `slashed` stake credited by {_creditUpheld} into this contract and releases the
    ///      lock the worker's struck-down work held.
    function _slashAndUnlock(address worker, uint256 slashed) internal {
        if (slashed != 0) workerRegistry.slash(worker, slashed, address(this));
        workerRegistry.unlock(worker);
    }

    function _withdraw(address account) private {
        uint256 amount = credited[account];
        if (amount == 0) revert NothingToWithdraw(account);
        credited[account] = 0;
        emit Withdrawn(account, amount);
        token.safeTransfer(account, amount);
    }

    function _checkWindow(uint64 value) internal pure {
        if (value == 0 || value > MAX_WINDOW) revert WindowOutOfRange(value, MAX_WINDOW);
    }
}
