// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChallengeSettlement} from "./IChallengeSettlement.sol";

/// @title IRewardVault
/// @notice Pay-per-inference billing, the fee split, and per-model contributor pools paid out by
///         challengeable epoch Merkle roots with claims.
/// @dev Claim leaves are OpenZeppelin StandardMerkleTree leaves for ["uint256","address","uint256"]:
///      keccak256(bytes.concat(keccak256(abi.encode(index, account, amount)))), verified with sorted
///      pairs; `index` (0..n-1, unique per epoch) is the leaf's bit in the claimed bitmap.
///      Pool accounting: `available` is what new epochs may reserve; `reserved` the sum of the totals of
///      epochs posted, challenged or finalized and not yet swept (claims draw on their epoch). Unclaimed
///      amounts go back to `available` when an epoch is swept after its claim deadline.
///      Challenge parameters, credited payouts and their events/errors are shared with ModelRegistry: see
///      {IChallengeSettlement}.
interface IRewardVault is IChallengeSettlement {
    // ------------------------------------------------------------------ types

    /// @notice Shares of every inference payment, in bps; they sum to 10_000.
    struct FeeSplit {
        uint16 treasuryBps;
        uint16 ownerBps;
        uint16 providerBps;
        uint16 contributorsBps;
    }

    enum EpochStatus {
        None,
        Posted,
        Challenged,
        Finalized,
        Swept
    }

    /// @notice An epoch root, packed in three slots (its report CID is in {EpochPosted} only).
    ///         `deadline` is the end of the challenge window while Posted or Challenged, and the end of
    ///         the claim period once Finalized. `lockedStake` is the collateral the root locked from the poster's
    ///         stake (released at finalization; the field keeps the figure).
    struct Epoch {
        bytes32 root;
        address poster;
        uint96 lockedStake;
        uint96 total;
        uint96 claimed;
        uint40 deadline;
        EpochStatus status;
        Dispute dispute;
    }

    // ------------------------------------------------------------------ events

    /// @notice A payment of `amount` = price * requestCount, split into the four shares (the
    ///         contributors' share, which takes any rounding dust, went to the model's pool).
    event InferencePaid(
        uint256 indexed paymentId,
        uint256 indexed modelId,
        address indexed payer,
        uint256 requestCount,
        uint256 amount,
        bytes32 requestRef,
        uint256 treasuryShare,
        uint256 ownerShare,
        uint256 providerShare,
        uint256 contributorsShare
    );
    /// @notice `total` of the model's pool is now reserved for this epoch's claims; the poster locked
    ///         `collateral` of its stake.
    event EpochPosted(
        uint256 indexed modelId,
        uint64 indexed epoch,
        address indexed poster,
        bytes32 root,
        uint256 total,
        string reportCid,
        uint64 challengeDeadline,
        uint256 collateral
    );
    event EpochChallenged(
        uint256 indexed modelId,
        uint64 indexed epoch,
        address indexed challenger,
        uint256 bond,
        string reasonCid,
        uint64 rulingDeadline
    );
    /// @notice upheld: reservation released, epoch deleted (may be re-posted), poster slashed by `slashed`
    ///         and revoked as provider, challenger credited `challengerPayout` (bond + reward), treasury
    ///         `treasuryPayout`. Rejected: bond (`treasuryPayout`) credited to the treasury, epoch Posted
    ///         again with its window reopened ({EpochChallengeWindowReopened}).
    event EpochChallengeResolved(
        uint256 indexed modelId,
        uint64 indexed epoch,
        bool upheld,
        address indexed challenger,
        uint256 slashed,
        uint256 challengerPayout,
        uint256 treasuryPayout
    );
    /// @notice A rejected challenge reopened the window: the root can be challenged until `challengeDeadline`.
    event EpochChallengeWindowReopened(uint256 indexed modelId, uint64 indexed epoch, uint64 challengeDeadline);
    /// @notice Nobody ruled on the challenge in time: the root was voided (epoch deleted, total back in the
    ///         pool, collateral released, nobody slashed) and the bond credited back to the challenger.
    event EpochChallengeLapsed(
        uint256 indexed modelId, uint64 indexed epoch, address indexed challenger, address poster, uint256 bond
    );
    /// @notice The epoch is claimable until `claimDeadline`.
    event EpochFinalized(uint256 indexed modelId, uint64 indexed epoch, uint64 claimDeadline);
    event Claimed(
        uint256 indexed modelId, uint64 indexed epoch, uint256 index, address indexed account, uint256 amount
    );
    /// @notice The claim period ended: `unclaimed` went back to the pool's available balance.
    event EpochSwept(uint256 indexed modelId, uint64 indexed epoch, uint256 unclaimed);
    event FeeSplitSet(uint16 treasuryBps, uint16 ownerBps, uint16 providerBps, uint16 contributorsBps);
    event ClaimPeriodSet(uint64 claimPeriod);
    /// @notice The share of a derived model's contributor payouts passed to its ancestors changed.
    event LineageShareSet(uint16 lineageShareBps);

    // ------------------------------------------------------------------ errors

    /// @notice A required string or hash argument (`field`) was empty.
    error EmptyField(string field);
    /// @notice The model is not live or has no active compute provider: it cannot be paid for.
    error ModelNotLive(uint256 modelId);
    error NotComputeProvider(uint256 modelId, address caller);
    /// @notice The model's provider is below the minimum stake or exiting: it cannot post.
    error ProviderNotActive(uint256 modelId, address provider);
    /// @notice The model's price rose above what the payer accepted.
    error PriceAboveMaximum(uint256 modelId, uint256 price, uint256 maxPrice);
    /// @notice The epoch's claim period ended at `claimDeadline` (it can be swept).
    error ClaimPeriodOver(uint256 modelId, uint64 epoch, uint64 claimDeadline);
    /// @notice The epoch can still be claimed until `claimDeadline`: it cannot be swept yet.
    error ClaimPeriodActive(uint256 modelId, uint64 epoch, uint64 claimDeadline);
    /// @notice Epochs are posted in order: `epoch` is beyond the next expected one.
    error EpochOutOfOrder(uint256 modelId, uint64 epoch, uint64 nextEpoch);
    /// @notice The epoch already has a root (only an upheld challenge frees it again).
    error EpochAlreadyPosted(uint256 modelId, uint64 epoch);
    /// @notice The root's `total` exceeds the pool's unreserved balance `available`.
    error InsufficientPool(uint256 modelId, uint256 available, uint256 total);
    /// @notice The epoch is in `status`, which does not allow the call.
    error InvalidEpochStatus(uint256 modelId, uint64 epoch, EpochStatus status);
    error ChallengeWindowClosed(uint256 modelId, uint64 epoch, uint64 challengeDeadline);
    error ChallengeWindowOpen(uint256 modelId, uint64 epoch, uint64 challengeDeadline);
    error AlreadyClaimed(uint256 modelId, uint64 epoch, uint256 index);
    error InvalidProof(uint256 modelId, uint64 epoch, uint256 index, address account, uint256 amount);
    /// @notice Paying `amount` would take the epoch's claims (`claimed` so far) beyond its `total`.
    error EpochTotalExceeded(uint256 modelId, uint64 epoch, uint256 claimed, uint256 amount, uint256 total);
    error FeeSplitSumInvalid(uint256 sum);
    /// @notice {setLineageShareBps} above `max`.
    error LineageShareOutOfRange(uint256 bps, uint256 max);

    // ------------------------------------------------------------------ payments

    /// @notice Pay for `requestCount` inferences of a live model: price * requestCount from the caller,
    ///         split between treasury, model owner, compute provider (credited) and the model's pool.
    ///         `maxPrice` is the most the caller accepts per request (a price raised in front of this
    ///         transaction makes it revert instead of charging more).
    /// @dev Anyone. `requestRef` ties the payment to off-chain requests. Emits {InferencePaid},
    ///      {Credited}. Reverts {ModelNotLive} (not live, or no active provider), {PriceAboveMaximum},
    ///      {ZeroAmount}.
    function payForInference(uint256 modelId, uint256 requestCount, uint256 maxPrice, bytes32 requestRef)
        external
        returns (uint256 paymentId);

    // ------------------------------------------------------------------ epochs

    /// @notice Post the contributor reward root of `epoch` for `modelId`, reserving `total` of its pool.
    ///         Epochs go 0, 1, 2, ...; an epoch deleted by an upheld challenge may be posted again.
    ///         Locks collateralBps of `total` from the poster's free stake until the epoch is finalized or
    ///         struck down.
    /// @dev The model's current compute provider, an active worker. Emits {EpochPosted}. Reverts
    ///      {NotComputeProvider}, {ProviderNotActive}, {EpochOutOfOrder}, {EpochAlreadyPosted}, {ZeroAmount},
    ///      {EmptyField} ("root", "reportCid"), {InsufficientPool}, {IWorkerRegistry-InsufficientFreeStake}.
    function postEpochRoot(uint256 modelId, uint64 epoch, bytes32 root, uint256 total, string calldata reportCid)
        external;

    /// @notice Dispute a posted root within its window, escrowing the current challenge bond. The
    ///         challenge is judged on the root (is it what `openledger verify epoch` recomputes?), not on
    ///         the reason given.
    /// @dev Anyone. Emits {EpochChallenged}. Reverts {InvalidEpochStatus}, {ChallengeWindowClosed},
    ///      {EmptyField} ("reasonCid").
    function challengeEpoch(uint256 modelId, uint64 epoch, string calldata reasonCid) external;

    /// @notice Judge an epoch challenge (also after its ruling deadline, until someone lapses it). Upheld:
    ///         reservation released, epoch deleted, poster slashed max(slashAmount, collateral) capped by
    ///         its unlocked stake and revoked as the model's provider, challenger credited bond + slashed *
    ///         challengerRewardBps / 10_000, treasury the rest. Rejected: bond credited to the treasury,
    ///         epoch Posted with its window reopened for at least a full window.
    /// @dev GOVERNANCE_ROLE. Emits {EpochChallengeResolved}, {Credited}, {EpochChallengeWindowReopened}.
    ///      Reverts {InvalidEpochStatus}.
    function resolveEpochChallenge(uint256 modelId, uint64 epoch, bool upheld) external;

    /// @notice Default outcome of a challenge nobody ruled on by its ruling deadline: the root is voided
    ///         (epoch deleted, total back in the pool, collateral released, nobody slashed) and the bond
    ///         credited back to the challenger. The epoch may be posted again.
    /// @dev Anyone. Emits {EpochChallengeLapsed}, {Credited}. Reverts {InvalidEpochStatus},
    ///      {RulingPeriodActive}.
    function lapseEpochChallenge(uint256 modelId, uint64 epoch) external;

    /// @notice Make a posted epoch claimable (until now + claimPeriod) once its challenge window has
    ///         passed; releases the poster's collateral.
    /// @dev Anyone, Posted and now > challengeDeadline. Emits {EpochFinalized}. Reverts
    ///      {InvalidEpochStatus}, {ChallengeWindowOpen}.
    function finalizeEpoch(uint256 modelId, uint64 epoch) external;

    /// @notice Pay leaf `index` (index, account, amount) of a finalized epoch to `account`; once per index.
    /// @dev Anyone (the tokens always go to `account`), before the claim deadline. Emits {Claimed}.
    ///      Reverts {InvalidEpochStatus}, {ClaimPeriodOver}, {ZeroAmount}, {AlreadyClaimed},
    ///      {InvalidProof}, {EpochTotalExceeded}.
    function claim(
        uint256 modelId,
        uint64 epoch,
        uint256 index,
        address account,
        uint256 amount,
        bytes32[] calldata proof
    ) external;

    /// @notice After an epoch's claim deadline, return its unclaimed amount to the pool for later epochs.
    /// @dev Anyone. Emits {EpochSwept}. Reverts {InvalidEpochStatus}, {ClaimPeriodActive}.
    function sweepEpoch(uint256 modelId, uint64 epoch) external;

    // ------------------------------------------------------------------ governance

    /// @notice Set the fee split; the four shares must sum to 10_000.
    /// @dev GOVERNANCE_ROLE. Emits {FeeSplitSet}. Reverts {FeeSplitSumInvalid}.
    function setFeeSplit(FeeSplit calldata split) external;

    /// @notice Set how long finalized epochs stay claimable (1 .. MAX_WINDOW); applies to epochs
    ///         finalized later.
    /// @dev GOVERNANCE_ROLE. Emits {ClaimPeriodSet}. Reverts {WindowOutOfRange}.
    function setClaimPeriod(uint64 value) external;

    /// @notice Set the lineage share (0 .. MAX_LINEAGE_SHARE_BPS): of every amount a derived model's epoch
    ///         pays, this part goes to its ancestors' contributors instead (the off-chain epoch rule,
    ///         checked by `openledger verify epoch`; docs/PROTOCOL.md "Lineage payouts").
    /// @dev GOVERNANCE_ROLE. Emits {LineageShareSet}. Reverts {LineageShareOutOfRange}.
    function setLineageShareBps(uint16 bps) external;

    // ------------------------------------------------------------------ views

    /// @notice Bps of a derived model's epoch amounts passed to its ancestors (and by each ancestor on up).
    function lineageShareBps() external view returns (uint16);

    /// @notice How `upstream` (the lineage share cut from a derived model's epoch leaves) is kept by the
    ///         model's ancestors ({IModelRegistry-ancestorsOf}, parent first, with the job whose
    ///         attribution report pays each): each passes
    ///         `received * lineageShareBps / 10_000` to the next, the last keeps all it receives; the kept
    ///         amounts sum to `upstream` exactly. Empty for a model without ancestors.
    function upstreamSplit(uint256 modelId, uint256 upstream)
        external
        view
        returns (uint256[] memory models, uint256[] memory jobs, uint256[] memory kept);

    /// @notice Contributor pool of `modelId`: what new epochs may reserve (`available`) and the totals of
    ///         epochs not yet swept (`reserved`, claimed parts included).
    function pool(uint256 modelId) external view returns (uint256 available, uint256 reserved);

    /// @notice Epoch `epoch` of `modelId` (status None when not posted or deleted).
    function getEpoch(uint256 modelId, uint64 epoch) external view returns (Epoch memory);

    /// @notice Lowest epoch number never posted for `modelId`.
    function nextEpoch(uint256 modelId) external view returns (uint64);

    /// @notice Whether leaf `index` of that epoch was claimed.
    function isClaimed(uint256 modelId, uint64 epoch, uint256 index) external view returns (bool);

    /// @notice Seconds a finalized epoch stays claimable.
    function claimPeriod() external view returns (uint64);

    /// @notice The current fee split.
    function feeSplit() external view returns (FeeSplit memory);

    /// @notice Number of inference payments (ids are 1..paymentCount).
    function paymentCount() external view returns (uint256);
}
