// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IChallengeSettlement} from "../interfaces/IChallengeSettlement.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title ChallengeSettlement
/// @notice Base of the contracts where workers post challengeable work (ModelRegistry: training results;
///         RewardVault: epoch roots). Holds the governance-set challenge and collateral parameters, the
///         pull-payment balances (`credited`, {withdraw}), and the three ways a dispute ends: upheld
///         (the worker's collateral is slashed), rejected (the bond goes to the treasury and the challenge
///         window reopens, so a squatting challenge cannot run the clock out) or lapsed (no ruling before
///         the deadline: the work is voided, nobody is slashed, the bond goes back).
/// @dev The derived contract keeps its own records and events; it opens disputes with {_openDispute},
///      ends them with {_upholdDispute} + {_slashAndUnlock}, {_rejectDispute} or {_lapseDispute}, and
///      calls {_credit} for every payout. Needs SLASHER_ROLE on the WorkerRegistry.
abstract contract ChallengeSettlement is IChallengeSettlement, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    /// @notice Upper bound for governance-set windows (challenge window, lease length, ruling period).
    uint64 public constant MAX_WINDOW = 365 days;
    /// @notice Upper bound for the collateral ratio (10x the value at risk).
    uint16 public constant MAX_COLLATERAL_BPS = 50_000;
    uint256 internal constant BPS = 10_000;

    IERC20 public immutable token;
    IWorkerRegistry public immutable workerRegistry;

    uint64 public challengeWindow = 1 days;
    /// @notice Seconds governance has to rule on a challenge before it lapses (see {IChallengeSettlement}).
    uint64 public rulingPeriod = 7 days;
    uint256 public challengeBond = 100 ether;
    /// @notice The least an upheld challenge slashes (capped by the stake), whatever the value at risk.
    uint256 public slashAmount = 100 ether;
    uint16 public challengerRewardBps = 5_000;
    /// @notice Stake locked per unit of value a posted work controls, in bps (15_000: 1.5x the value).
    uint16 public collateralBps = 15_000;
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
    function setRulingPeriod(uint64 value) external onlyRole(GOVERNANCE_ROLE) {
        _checkWindow(value);
        rulingPeriod = value;
        emit RulingPeriodSet(value);
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
    function setCollateralBps(uint16 value) external onlyRole(GOVERNANCE_ROLE) {
        // Below 1x a cheater could take more than it stakes: the economic rule forbids it.
        if (value < BPS || value > MAX_COLLATERAL_BPS) revert BpsOutOfRange(value);
        collateralBps = value;
        emit CollateralBpsSet(value);
    }

    /// @inheritdoc IChallengeSettlement
    function setTreasury(address value) external onlyRole(GOVERNANCE_ROLE) {
        if (value == address(0)) revert ZeroAddress();
        treasury = value;
        emit TreasurySet(value);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Stake a worker must lock to post work controlling `value` tokens, rounded up so the lock is
    ///      never a wei under the ratio.
    function _collateralFor(uint256 value) internal view returns (uint256) {
        return Math.mulDiv(value, collateralBps, BPS, Math.Rounding.Ceil);
    }

    /// @dev Adds `amount` to what `account` may withdraw; a zero amount is skipped (no event).
    function _credit(address account, uint256 amount) internal {
        if (amount == 0) return;
        uint256 balance = credited[account] + amount;
        credited[account] = balance;
        emit Credited(account, amount, balance);
    }

    /// @dev Records the caller as challenger with the current bond and ruling deadline. The derived
    ///      contract emits its event, then pulls the bond with {_pullBond} (checks-effects-interactions).
    function _openDispute(Dispute storage d) internal returns (uint256 bond, uint64 rulingDeadline) {
        bond = challengeBond;
        rulingDeadline = uint64(block.timestamp) + rulingPeriod;
        d.challenger = msg.sender;
        d.rulingDeadline = rulingDeadline;
        d.bond = bond;
    }

    function _pullBond(uint256 bond) internal {
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @dev A rejected challenge: the bond goes to the treasury. Returns the challenge window's new end:
    ///      never earlier than a full window from now, so an honest challenger always gets its turn.
    function _rejectDispute(Dispute storage d, uint64 challengeDeadline)
        internal
        returns (address challenger, uint256 bond, uint64 reopenedDeadline)
    {
        (challenger, bond) = (d.challenger, d.bond);
        delete d.challenger;
        delete d.rulingDeadline;
        delete d.bond;
        _credit(treasury, bond);
        uint64 fullWindow = uint64(block.timestamp) + challengeWindow;
        reopenedDeadline = challengeDeadline > fullWindow ? challengeDeadline : fullWindow;
    }

    /// @dev A challenge nobody ruled on in time: the challenged work is voided by the caller and the bond
    ///      goes back to the challenger (it proved nothing, and neither did the worker).
    function _lapseDispute(Dispute storage d) internal returns (address challenger, uint256 bond) {
        if (block.timestamp <= d.rulingDeadline) revert RulingPeriodActive(d.rulingDeadline);
        (challenger, bond) = (d.challenger, d.bond);
        delete d.challenger;
        delete d.rulingDeadline;
        delete d.bond;
        _credit(challenger, bond);
    }

    /// @dev Money side of an upheld challenge against `worker`'s work that locked `collateral`: the slash
    ///      is max(slashAmount, collateral), capped by what the worker's other open work does not back
    ///      (its free stake plus this collateral, so a drained stake cannot block the ruling and a slash
    ///      never strips other work of its collateral); the challenger is credited its bond +
    ///      challengerRewardBps of the slash, the treasury the rest. The caller updates its records,
    ///      emits, then calls {_slashAndUnlock}.
    function _upholdDispute(Dispute storage d, address worker, uint256 collateral)
        internal
        returns (address challenger, uint256 slashed, uint256 challengerPayout, uint256 treasuryPayout)
    {
        challenger = d.challenger;
        uint256 bond = d.bond;
        delete d.challenger;
        delete d.rulingDeadline;
        delete d.bond;
        uint256 slashable = workerRegistry.freeStake(worker) + collateral;
        slashed = collateral > slashAmount ? collateral : slashAmount;
        if (slashed > slashable) slashed = slashable;
        uint256 reward = slashed * challengerRewardBps / BPS;
        challengerPayout = bond + reward;
        treasuryPayout = slashed - reward;
        _credit(challenger, challengerPayout);
        _credit(treasury, treasuryPayout);
    }

    /// @dev Releases the `collateral` the struck-down work locked, then takes the `slashed` stake credited
    ///      by {_upholdDispute} into this contract. Unlocking first keeps the worker's other locks whole
    ///      (a slash only trims locks down to the stake that is left).
    function _slashAndUnlock(address worker, uint256 slashed, uint256 collateral) internal {
        workerRegistry.unlock(worker, collateral);
        if (slashed != 0) workerRegistry.slash(worker, slashed, address(this));
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
