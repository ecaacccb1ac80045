// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IChallengeSettlement
/// @notice What every contract that judges a worker's posted work shares: the governance-set challenge
///         parameters, the settlement of judged challenges, and the pull-payment balances it credits.
/// @dev Implemented once by `ChallengeSettlement` and inherited by ModelRegistry (training results) and
///      RewardVault (epoch roots). Amounts are token wei; bps are out of 10_000. An upheld challenge slashes
///      the worker min(slashAmount, stake): the challenger is credited its bond plus challengerRewardBps of
///      the slash, the treasury the rest. A rejected challenge credits the bond to the treasury.
interface IChallengeSettlement {
    // ------------------------------------------------------------------ events

    /// @notice `account` may now withdraw `amount` more; `balance` is its credited total afterwards.
    event Credited(address indexed account, uint256 amount, uint256 balance);
    /// @notice `account`'s whole credited balance (`amount`) was transferred to it.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Governance set the challenge window (seconds) of work posted from now on.
    event ChallengeWindowSet(uint64 challengeWindow);
    /// @notice Governance set the bond escrowed by later challengers.
    event ChallengeBondSet(uint256 challengeBond);
    /// @notice Governance set the most stake taken from a worker whose work is struck down.
    event SlashAmountSet(uint256 slashAmount);
    /// @notice Governance set the share (bps) of a slash paid to a successful challenger.
    event ChallengerRewardBpsSet(uint16 challengerRewardBps);
    /// @notice Governance set the protocol treasury.
    event TreasurySet(address treasury);

    // ------------------------------------------------------------------ errors

    /// @notice An address argument that must be set was zero.
    error ZeroAddress();
    /// @notice An amount that must be positive was zero.
    error ZeroAmount();
    /// @notice `account` has no credited balance.
    error NothingToWithdraw(address account);
    /// @notice A governance window outside `1..maxValue` seconds.
    error WindowOutOfRange(uint64 value, uint64 maxValue);
    /// @notice A share above 10_000 bps.
    error BpsOutOfRange(uint256 bps);

    // ------------------------------------------------------------------ payouts

    /// @notice Transfer the caller's credited balance to the caller.
    /// @dev Anyone with a balance. Emits {Withdrawn}. Reverts {NothingToWithdraw}.
    function withdraw() external;

    /// @notice Transfer `account`'s credited balance to `account` (e.g. a timelock treasury).
    /// @dev Anyone; funds only ever go to `account`. Emits {Withdrawn}. Reverts {NothingToWithdraw}.
    function withdrawFor(address account) external;

    // ------------------------------------------------------------------ governance

    /// @notice Set the challenge window in seconds (1 .. MAX_WINDOW); applies to work posted later.
    /// @dev GOVERNANCE_ROLE. Emits {ChallengeWindowSet}. Reverts {WindowOutOfRange}.
    function setChallengeWindow(uint64 challengeWindow) external;

    /// @notice Set the bond a challenger escrows; applies to later challenges.
    /// @dev GOVERNANCE_ROLE. Emits {ChallengeBondSet}. Reverts {ZeroAmount}.
    function setChallengeBond(uint256 challengeBond) external;

    /// @notice Set the stake taken from a worker whose work is successfully challenged.
    /// @dev GOVERNANCE_ROLE. Emits {SlashAmountSet}. Reverts {ZeroAmount}.
    function setSlashAmount(uint256 slashAmount) external;

    /// @notice Set the share of a slash paid to a successful challenger (<= 10_000 bps).
    /// @dev GOVERNANCE_ROLE. Emits {ChallengerRewardBpsSet}. Reverts {BpsOutOfRange}.
    function setChallengerRewardBps(uint16 challengerRewardBps) external;

    /// @notice Set the protocol treasury credited with rejected bonds, slash remainders (and fee shares).
    /// @dev GOVERNANCE_ROLE. Emits {TreasurySet}. Reverts {ZeroAddress}.
    function setTreasury(address treasury) external;

    // ------------------------------------------------------------------ views

    /// @notice Balance `account` can withdraw.
    function credited(address account) external view returns (uint256);
}
