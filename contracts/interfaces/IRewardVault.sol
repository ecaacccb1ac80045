// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChallengeSettlement} from "./IChallengeSettlement.sol";

/// @title IRewardVault
/// @notice Pay-per-inference billing, the fee split, and per-model contributor pools paid out by
///         challengeable epoch Merkle roots with claims.
/// @dev Claim leaves are OpenZeppelin StandardMerkleTree leaves for ["address","uint256"]:
///      keccak256(bytes.concat(keccak256(abi.encode(account, amount)))), verified with sorted pairs.
///      Pool accounting: `balance` is every token held for the model's contributors (reserved or not),
///      `reserved` the part promised to posted, challenged or finalized epochs and not yet claimed.
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
        Finalized
    }

    struct Epoch {
        bytes32 root;
        uint256 total;
        string reportCid;
        address poster;
        uint64 postedAt;
        uint64 challengeDeadline;
        EpochStatus status;
        uint256 claimed;
        address challenger;
        uint256 challengeBond;
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
    /// @notice `total` of the model's pool is now reserved for this epoch's claims.
    event EpochPosted(
        uint256 indexed modelId,
        uint64 indexed epoch,
        address indexed poster,
        bytes32 root,
        uint256 total,
        string reportCid,
        uint64 challengeDeadline
    );
    event EpochChallenged(
        uint256 indexed modelId, uint64 indexed epoch, address indexed challenger, uint256 bond, string reasonCid
    );
    /// @notice upheld: reservation released, epoch deleted (may be re-posted), poster slashed by `slashed`,
    ///         challenger credited `challengerPayout` (bond + reward), treasury `treasuryPayout`.
    ///         Rejected: bond (`treasuryPayout`) credited to the treasury, epoch Posted again.
    event EpochChallengeResolved(
        uint256 indexed modelId,
        uint64 indexed epoch,
        bool upheld,
        address indexed challenger,
        uint256 slashed,
        uint256 challengerPayout,
        uint256 treasuryPayout
    );
    event EpochFinalized(uint256 indexed modelId, uint64 indexed epoch);
    event Claimed(uint256 indexed modelId, uint64 indexed epoch, address indexed account, uint256 amount);
    event FeeSplitSet(uint16 treasuryBps, uint16 ownerBps, uint16 providerBps, uint16 contributorsBps);

    // ------------------------------------------------------------------ errors

    /// @notice A required string or hash argument (`field`) was empty.
    error EmptyField(string field);
    error ModelNotLive(uint256 modelId);
    error NotComputeProvider(uint256 modelId, address caller);
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
    error AlreadyClaimed(uint256 modelId, uint64 epoch, address account, uint256 amount);
    error InvalidProof(uint256 modelId, uint64 epoch, address account, uint256 amount);
    /// @notice Paying `amount` would take the epoch's claims (`claimed` so far) beyond its `total`.
    error EpochTotalExceeded(uint256 modelId, uint64 epoch, uint256 claimed, uint256 amount, uint256 total);
    error FeeSplitSumInvalid(uint256 sum);

    // ------------------------------------------------------------------ payments

    /// @notice Pay for `requestCount` inferences of a live model: price * requestCount from the caller,
    ///         split between treasury, model owner, compute provider (credited) and the model's pool.
    /// @dev Anyone. `requestRef` ties the payment to off-chain requests. Emits {InferencePaid},
    ///      {Credited}. Reverts {ModelNotLive}, {ZeroAmount}.
    function payForInference(uint256 modelId, uint256 requestCount, bytes32 requestRef)
        external
        returns (uint256 paymentId);

    // ------------------------------------------------------------------ epochs

    /// @notice Post the contributor reward root of `epoch` for `modelId`, reserving `total` of its pool.
    ///         Epochs go 0, 1, 2, ...; an epoch deleted by an upheld challenge may be posted again.
    ///         Locks the poster's worker stake until the epoch is finalized or struck down.
    /// @dev The model's current compute provider (a registered worker). Emits {EpochPosted}. Reverts
    ///      {ModelNotLive}, {NotComputeProvider}, {EpochOutOfOrder}, {EpochAlreadyPosted}, {ZeroAmount},
    ///      {EmptyField} ("root", "reportCid"), {InsufficientPool}.
    function postEpochRoot(uint256 modelId, uint64 epoch, bytes32 root, uint256 total, string calldata reportCid)
        external;

    /// @notice Dispute a posted root within its window, escrowing the current challenge bond.
    /// @dev Anyone. Emits {EpochChallenged}. Reverts {InvalidEpochStatus}, {ChallengeWindowClosed},
    ///      {EmptyField} ("reasonCid").
    function challengeEpoch(uint256 modelId, uint64 epoch, string calldata reasonCid) external;

    /// @notice Judge an epoch challenge. Upheld: reservation released, epoch deleted, poster slashed
    ///         (min(slashAmount, stake)), challenger credited bond + slashed * challengerRewardBps / 10_000,
    ///         treasury the rest. Rejected: bond credited to the treasury, epoch Posted (same deadline).
    /// @dev GOVERNANCE_ROLE. Emits {EpochChallengeResolved}, {Credited}. Reverts {InvalidEpochStatus}.
    function resolveEpochChallenge(uint256 modelId, uint64 epoch, bool upheld) external;

    /// @notice Make a posted epoch claimable once its challenge window has passed.
    /// @dev Anyone, Posted and now > challengeDeadline. Emits {EpochFinalized}. Reverts
    ///      {InvalidEpochStatus}, {ChallengeWindowOpen}.
    function finalizeEpoch(uint256 modelId, uint64 epoch) external;

    /// @notice Pay the leaf (account, amount) of a finalized epoch to `account`; once per leaf.
    /// @dev Anyone (the tokens always go to `account`). Emits {Claimed}. Reverts {InvalidEpochStatus},
    ///      {ZeroAmount}, {AlreadyClaimed}, {InvalidProof}, {EpochTotalExceeded}.
    function claim(uint256 modelId, uint64 epoch, address account, uint256 amount, bytes32[] calldata proof) external;

    // ------------------------------------------------------------------ governance

    /// @notice Set the fee split; the four shares must sum to 10_000.
    /// @dev GOVERNANCE_ROLE. Emits {FeeSplitSet}. Reverts {FeeSplitSumInvalid}.
    function setFeeSplit(FeeSplit calldata split) external;

    // ------------------------------------------------------------------ views

    /// @notice Contributor pool of `modelId`: tokens held (`balance`) and the part reserved by epochs.
    function pool(uint256 modelId) external view returns (uint256 balance, uint256 reserved);

    /// @notice Epoch `epoch` of `modelId` (status None when not posted or deleted).
    function getEpoch(uint256 modelId, uint64 epoch) external view returns (Epoch memory);

    /// @notice Lowest epoch number never posted for `modelId`.
    function nextEpoch(uint256 modelId) external view returns (uint64);

    /// @notice Whether the leaf (account, amount) of that epoch was claimed.
    function isClaimed(uint256 modelId, uint64 epoch, address account, uint256 amount) external view returns (bool);

    /// @notice The current fee split.
    function feeSplit() external view returns (FeeSplit memory);

    /// @notice Number of inference payments (ids are 1..paymentCount).
    function paymentCount() external view returns (uint256);
}
