// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IDatanetRegistry
/// @notice Datanets (community datasets), staked contributions, curation and immutable versions.
/// @dev Ids are counters starting at 1 (0 means "none"); amounts are token wei; bps are out of 10_000.
interface IDatanetRegistry {
    // ------------------------------------------------------------------ types

    /// @notice Lifecycle of a contribution: Pending -> Accepted | Rejected | Withdrawn.
    enum ContributionStatus {
        None,
        Pending,
        Accepted,
        Rejected,
        Withdrawn
    }

    /// @notice Contribution policy of a datanet, fixed at creation.
    /// @param stakePerContribution tokens escrowed with each contribution (0 allowed: free datanet).
    /// @param reviewPeriod seconds curators have before the contributor may withdraw a Pending stake,
    ///        and before an Accepted stake may be released.
    /// @param slashBps share of the stake sent to the datanet treasury when a contribution is rejected.
    struct Policy {
        uint256 stakePerContribution;
        uint64 reviewPeriod;
        uint16 slashBps;
    }

    /// @notice A datanet. `createdAt` and the three counters share one storage slot, written (non-zero) at
    ///         creation: counting a contribution, an acceptance or a version rewrites a non-zero slot.
    /// @param owner creator; sets curators and publishes versions.
    /// @param treasury receives the slashed share of rejected stakes.
    /// @param metadataCid CID of the datanet's metadata (name, schema, licence).
    /// @param policy contribution policy, fixed at creation.
    /// @param createdAt block timestamp of creation.
    /// @param versionCount versions published (the last version id).
    /// @param contributionCount contributions ever submitted to this datanet, whatever their status.
    /// @param acceptedCount contributions accepted (a version lists at most this many).
    struct Datanet {
        address owner;
        address treasury;
        string metadataCid;
        Policy policy;
        uint64 createdAt;
        uint64 versionCount;
        uint64 contributionCount;
        uint64 acceptedCount;
    }

    /// @notice A contribution as stored: two storage slots. The content CID is not stored: it is in full in
    ///         {ContributionSubmitted}, and `contributionIdByCid(datanetId, contributor, cid) == id` proves
    ///         that a CID is this contribution's (only a Withdrawn contribution's key may since have moved to
    ///         a later resubmission of the same CID by the same contributor). A review's reason CID is only
    ///         in {ContributionReviewed}.
    /// @param contributor who submitted it and paid the stake (slot 0 with the next four fields).
    /// @param submittedAt block timestamp of submission.
    /// @param status lifecycle state; None only for ids that do not exist.
    /// @param stakeReleased whether the stake has left the registry (refund, split or release).
    /// @param recordCount records the contributor declared.
    /// @param datanetId datanet it was submitted to (slot 1 with the next two fields).
    /// @param byteSize bytes the contributor declared.
    /// @param stake tokens escrowed: the datanet's `stakePerContribution` at submission.
    struct Contribution {
        address contributor;
        uint40 submittedAt;
        ContributionStatus status;
        bool stakeReleased;
        uint32 recordCount;
        uint64 datanetId;
        uint64 byteSize;
        uint128 stake;
    }

    struct Version {
        bytes32 merkleRoot;
        string manifestCid;
        uint64 recordCount;
        uint32 contributionCount;
        uint64 publishedAt;
    }

    // ------------------------------------------------------------------ events

    /// @notice A datanet was created; its curators follow as {CuratorSet} events.
    event DatanetCreated(
        uint256 indexed datanetId,
        address indexed owner,
        address treasury,
        string metadataCid,
        Policy policy,
        uint64 createdAt
    );

    /// @notice A curator was enabled or disabled for a datanet.
    event CuratorSet(uint256 indexed datanetId, address indexed curator, bool enabled);

    /// @notice A contribution was submitted and its stake escrowed in the registry. The only on-chain copy
    ///         of `contentCid` (storage keeps its hash with the contributor: {contributionIdByCid}).
    event ContributionSubmitted(
        uint256 indexed contributionId,
        uint256 indexed datanetId,
        address indexed contributor,
        string contentCid,
        uint64 byteSize,
        uint32 recordCount,
        uint256 stake,
        uint64 submittedAt
    );

    /// @notice A curator accepted or rejected a contribution. On reject, `slashed` went to the datanet
    ///         treasury and `refunded` back to the contributor (slashed + refunded == stake); on accept
    ///         both are 0 and the stake stays escrowed until {StakeReleased}. The only on-chain copy of
    ///         `reasonCid` (may be empty).
    event ContributionReviewed(
        uint256 indexed contributionId,
        uint256 indexed datanetId,
        address indexed curator,
        bool accepted,
        string reasonCid,
        uint256 slashed,
        uint256 refunded
    );

    /// @notice The stake of an Accepted contribution was paid back to its contributor.
    event StakeReleased(uint256 indexed contributionId, address indexed contributor, uint256 amount);

    /// @notice A contribution left Pending after its review period: status Withdrawn, stake paid back.
    event ContributionWithdrawn(uint256 indexed contributionId, address indexed contributor, uint256 amount);

    /// @notice The datanet owner published an immutable version.
    event VersionPublished(
        uint256 indexed datanetId,
        uint256 indexed versionId,
        bytes32 merkleRoot,
        string manifestCid,
        uint64 recordCount,
        uint32 contributionCount,
        uint64 publishedAt
    );

    /// @notice Governance changed the protocol-wide upper bound on a datanet's review period.
    event MaxReviewPeriodSet(uint64 previous, uint64 current);

    // ------------------------------------------------------------------ errors

    /// @notice An address argument (token, admin, treasury, curator) was the zero address.
    error ZeroAddress();
    /// @notice A CID argument was the empty string.
    error EmptyCid();
    /// @notice slashBps above 10_000.
    error SlashBpsTooHigh(uint16 slashBps, uint16 maxBps);
    /// @notice A datanet policy's review period is above the protocol's `maxReviewPeriod`.
    error ReviewPeriodTooLong(uint64 reviewPeriod, uint64 maxReviewPeriod);
    /// @notice Governance tried to set `maxReviewPeriod` to 0 or above `MAX_REVIEW_PERIOD_CAP`.
    error MaxReviewPeriodOutOfBounds(uint64 value, uint64 cap);
    error UnknownDatanet(uint256 datanetId);
    error UnknownContribution(uint256 contributionId);
    error UnknownVersion(uint256 datanetId, uint256 versionId);
    error NotDatanetOwner(uint256 datanetId, address caller);
    error NotCurator(uint256 datanetId, address caller);
    error NotContributor(uint256 contributionId, address caller);
    /// @notice The caller already has this content CID Pending, Accepted or Rejected in this datanet.
    error DuplicateContribution(uint256 datanetId, string contentCid);
    /// @notice A contribution must declare at least one byte and one record.
    error EmptyContribution(uint64 byteSize, uint32 recordCount);
    error ContributionNotPending(uint256 contributionId, ContributionStatus status);
    error ContributionNotAccepted(uint256 contributionId, ContributionStatus status);
    error StakeAlreadyReleased(uint256 contributionId);
    /// @notice The action is allowed only once `now >= endsAt` (submittedAt + reviewPeriod).
    error ReviewPeriodNotOver(uint256 contributionId, uint64 endsAt, uint64 nowTs);
    error EmptyMerkleRoot();
    /// @notice A version must hold at least one record and one contribution.
    error EmptyVersion(uint64 recordCount, uint32 contributionCount);
    /// @notice A version cannot list more contributions than the datanet has accepted.
    error VersionExceedsAccepted(uint256 datanetId, uint32 contributionCount, uint256 acceptedCount);

    // ------------------------------------------------------------------ writes

    /// @notice Create a datanet owned by the caller, with an immutable contribution policy.
    /// @dev Anyone may call. Emits {DatanetCreated} then one {CuratorSet} per curator.
    ///      Reverts: EmptyCid (metadataCid), ZeroAddress (treasury or a curator), SlashBpsTooHigh,
    ///      ReviewPeriodTooLong (above `maxReviewPeriod`), Panic 0x11 (2^64 - 1 datanets already).
    /// @return datanetId the new id (1, 2, ...).
    function createDatanet(
        string calldata metadataCid,
        address treasury,
        Policy calldata policy,
        address[] calldata curators
    ) external returns (uint256 datanetId);

    /// @notice Enable or disable a curator of a datanet.
    /// @dev Datanet owner only. Emits {CuratorSet}.
    ///      Reverts: UnknownDatanet, NotDatanetOwner, ZeroAddress (curator).
    function setCurator(uint256 datanetId, address curator, bool enabled) external;

    /// @notice Submit a content CID to a datanet, escrowing the datanet's `stakePerContribution` from
    ///         the caller (needs a prior `approve` of the registry).
    /// @dev Anyone may call. Emits {ContributionSubmitted}, which alone carries `contentCid`. Reverts:
    ///      UnknownDatanet, EmptyCid, EmptyContribution (byteSize or recordCount 0), DuplicateContribution
    ///      (the caller's same CID Pending, Accepted or Rejected in this datanet; a Withdrawn CID may be
    ///      resubmitted), SafeCastOverflowedUintDowncast (a `stakePerContribution` above 2^128 - 1),
    ///      Panic 0x11 (2^64 - 1 contributions already), ERC20 errors.
    /// @return contributionId the new id (1, 2, ..., global across datanets).
    function contribute(uint256 datanetId, string calldata contentCid, uint64 byteSize, uint32 recordCount)
        external
        returns (uint256 contributionId);

    /// @notice {contribute} with an EIP-2612 permit of `stakePerContribution` for this registry, signed
    ///         by the caller, so no separate approve transaction is needed.
    /// @dev Anyone may call. A permit that fails (e.g. front-run, already used) is ignored and the
    ///      existing allowance is relied on instead (OpenZeppelin's recommended pattern).
    ///      Emits and reverts as {contribute}.
    function contributeWithPermit(
        uint256 datanetId,
        string calldata contentCid,
        uint64 byteSize,
        uint32 recordCount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 contributionId);

    /// @notice Accept or reject a Pending contribution. Reject splits the stake at once:
    ///         `stake * slashBps / 10_000` to the datanet treasury, the rest back to the contributor.
    ///         Accept keeps the stake escrowed until {releaseStake}.
    /// @dev Curator of the contribution's datanet only. Emits {ContributionReviewed}, which alone carries
    ///      `reasonCid` (not stored). Reverts: UnknownContribution, NotCurator, ContributionNotPending.
    function review(uint256 contributionId, bool accept, string calldata reasonCid) external;

    /// @notice Pay an Accepted contribution's stake back to its contributor once its review period is
    ///         over (`now >= submittedAt + reviewPeriod`).
    /// @dev Anyone may call; the stake always goes to the contributor. Emits {StakeReleased}.
    ///      Reverts: UnknownContribution, ContributionNotAccepted, StakeAlreadyReleased,
    ///      ReviewPeriodNotOver.
    function releaseStake(uint256 contributionId) external;

    /// @notice Take back the stake of a contribution nobody reviewed within the review period:
    ///         status becomes Withdrawn and the CID may be resubmitted.
    /// @dev Contributor only. Emits {ContributionWithdrawn}. Reverts: UnknownContribution,
    ///      NotContributor, ContributionNotPending, ReviewPeriodNotOver.
    function withdrawContribution(uint256 contributionId) external;

    /// @notice Publish an immutable version of a datanet: a Merkle root over accepted contributions and
    ///         the CID of the manifest listing them.
    /// @dev Datanet owner only. Emits {VersionPublished}. Reverts: UnknownDatanet, NotDatanetOwner,
    ///      EmptyMerkleRoot, EmptyCid (manifestCid), EmptyVersion (0 records or 0 contributions),
    ///      VersionExceedsAccepted.
    /// @return versionId the datanet's new version number (1, 2, ...).
    function publishVersion(
        uint256 datanetId,
        bytes32 merkleRoot,
        string calldata manifestCid,
        uint64 recordCount,
        uint32 contributionCount_
    ) external returns (uint256 versionId);

    /// @notice Set the protocol-wide upper bound on the review period of datanets created from now on
    ///         (existing datanets keep their policy).
    /// @dev GOVERNANCE_ROLE only. Emits {MaxReviewPeriodSet}. Reverts: AccessControlUnauthorizedAccount,
    ///      MaxReviewPeriodOutOfBounds (0 or above `MAX_REVIEW_PERIOD_CAP`).
    function setMaxReviewPeriod(uint64 newMaxReviewPeriod) external;

    // ------------------------------------------------------------------ views

    /// @notice The staking token (OPEN).
    function token() external view returns (IERC20);
    /// @notice Number of datanets created (the last id).
    function datanetCount() external view returns (uint256);
    /// @notice A datanet. Reverts UnknownDatanet.
    function getDatanet(uint256 datanetId) external view returns (Datanet memory);
    /// @notice Number of contributions submitted, all datanets (the last id).
    function contributionCount() external view returns (uint256);
    /// @notice A contribution's stored record (its CIDs are in its events). Reverts UnknownContribution.
    function getContribution(uint256 contributionId) external view returns (Contribution memory);
    /// @notice Number of versions of a datanet (the last version id); 0 for an unknown datanet, so that
    ///         `1 <= v <= versionCount(d)` alone tells whether version `v` of `d` exists (IDatanetVersions).
    function versionCount(uint256 datanetId) external view returns (uint256);
    /// @notice A version. Reverts UnknownDatanet, UnknownVersion.
    function getVersion(uint256 datanetId, uint256 versionId) external view returns (Version memory);
    /// @notice Whether `account` curates the datanet (false for unknown datanets).
    function isCurator(uint256 datanetId, address account) external view returns (bool);
    /// @notice Number of contributions accepted in a datanet (0 for unknown datanets).
    function acceptedCount(uint256 datanetId) external view returns (uint256);
    /// @notice Latest contribution id `contributor` submitted with this CID in this datanet, 0 if none.
    ///         Contributions are keyed by (contributor, CID): copying someone's pending CID in front of
    ///         their transaction neither blocks it nor takes its place. This is how anyone checks that a
    ///         CID read from {ContributionSubmitted} is the contribution's: the id must come back.
    function contributionIdByCid(uint256 datanetId, address contributor, string calldata contentCid)
        external
        view
        returns (uint256);
    /// @notice Sum of the stakes the registry still holds (Pending, and Accepted not yet released).
    function totalStakeHeld() external view returns (uint256);
    /// @notice Upper bound on a new datanet's review period, set by governance.
    function maxReviewPeriod() external view returns (uint64);
}
