// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IChallengeSettlement
/// @notice What every contract that judges a worker's posted work shares: the governance-set challenge
///         parameters, the settlement of judged challenges, and the pull-payment balances it credits.
/// @dev Implemented once by `ChallengeSettlement` and inherited by ModelRegistry (training results) and
///      RewardVault (epoch roots). Amounts are token wei; bps are out of 10_000. Posted work locks
///      collateralBps of the value it controls from the worker's free stake. A challenge is judged on the
///      posted work itself (is it what `openledger verify` recomputes?), not on the stated reason:
///      - upheld: the worker is slashed max(slashAmount, collateral), capped by its stake not locked for other work; the challenger is
///        credited its bond plus challengerRewardBps of the slash, the treasury the rest;
///      - rejected: the bond is credited to the treasury and the challenge window reopens for at least a
///        full window, so a squatting challenge (e.g. the poster's own second account) cannot run it out;
///      - lapsed: no ruling within rulingPeriod; anyone may void the work, the bond goes back, no slash.
interface IChallengeSettlement {
    /// @notice An open challenge: who escrowed `bond`, and until when governance may rule.
    struct Dispute {
        address challenger;
        uint64 rulingDeadline;
        uint256 bond;
    }

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
    /// @notice Governance set the seconds it has to rule on a challenge before the challenge lapses.
    event RulingPeriodSet(uint64 rulingPeriod);
    /// @notice Governance set the stake locked per unit of value a posted work controls (bps).
    event CollateralBpsSet(uint16 collateralBps);

    // ------------------------------------------------------------------ errors

    /// @notice An address argument that must be set was zero.
    error ZeroAddress();
    /// @notice An amount that must be positive was zero.
    error ZeroAmount();
    /// @notice `account` has no credited balance.
    error NothingToWithdraw(address account);
    /// @notice A governance window outside `1..maxValue` seconds.
    error WindowOutOfRange(uint64 value, uint64 maxValue);
    /// @notice A share outside its allowed range (above 10_000 bps; a collateral ratio under 1x or over 5x).
    error BpsOutOfRange(uint256 bps);
    /// @notice The challenge can still be ruled on until `rulingDeadline`: it cannot lapse yet.
    error RulingPeriodActive(uint64 rulingDeadline);

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

    /// @notice Set the seconds governance has to rule on a challenge (1 .. MAX_WINDOW); applies to later
    ///         challenges.
    /// @dev GOVERNANCE_ROLE. Emits {RulingPeriodSet}. Reverts {WindowOutOfRange}.
    function setRulingPeriod(uint64 rulingPeriod) external;

    /// @notice Set the collateral ratio (10_000 .. 50_000 bps of the value posted work controls); applies
    ///         to work posted later.
    /// @dev GOVERNANCE_ROLE. Emits {CollateralBpsSet}. Reverts {BpsOutOfRange}.
    function setCollateralBps(uint16 collateralBps) external;

    /// @notice Set the bond a challenger escrows; applies to later challenges.
    /// @dev GOVERNANCE_ROLE. Emits {ChallengeBondSet}. Reverts {ZeroAmount}.
    function setChallengeBond(uint256 challengeBond) external;

    /// @notice Set the least stake taken from a worker whose work is successfully challenged.
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
