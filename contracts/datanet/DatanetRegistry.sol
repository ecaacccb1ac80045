// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IDatanetRegistry} from "../interfaces/IDatanetRegistry.sol";

/// @title DatanetRegistry
/// @notice Datanets (community datasets), staked contributions, curation and immutable versions.
/// @dev The registry holds exactly the stakes of Pending contributions and of Accepted contributions not
///      yet released (`totalStakeHeld`). Assumes a plain ERC20 (no fee on transfer), as OPEN is.
///      Storage is laid out for the contribute/review path: a contribution is two slots and keeps only the
///      hash of its CID (as the `_byCid` key); CIDs and reasons live in events; the global counters share
///      one slot, and each datanet's counters share one slot with its (non-zero) creation time.
///      Function documentation lives in {IDatanetRegistry}.
contract DatanetRegistry is IDatanetRegistry, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Role allowed to change protocol parameters (held by the timelock in deployment).
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    /// @notice Denominator of every basis-point value.
    uint16 public constant MAX_BPS = 10_000;
    /// @notice Hard ceiling governance cannot lift: a stake is never locked for more than a year.
    uint64 public constant MAX_REVIEW_PERIOD_CAP = 365 days;
    /// @notice `maxReviewPeriod` at deployment.
    uint64 public constant DEFAULT_MAX_REVIEW_PERIOD = 30 days;

    IERC20 private immutable _token;

    // One storage slot: a contribution reads and bumps all three with one cold access.
    uint64 private _datanetCount;
    uint64 private _contributionCount;
    /// @dev Each stake is a uint128 and the sum is bounded by the tokens the registry holds.
    uint128 private _totalStakeHeld;

    /// @inheritdoc IDatanetRegistry
    uint64 public maxReviewPeriod;

    mapping(uint256 datanetId => Datanet) private _datanets;
    mapping(uint256 contributionId => Contribution) private _contributions;
    mapping(uint256 datanetId => mapping(uint256 versionId => Version)) private _versions;
    mapping(uint256 datanetId => mapping(address account => bool)) private _curators;
    mapping(uint256 datanetId => mapping(bytes32 contributorCidHash => uint256 contributionId)) private _byCid;

    /// @notice Deploy the registry for `token_`, giving DEFAULT_ADMIN_ROLE and GOVERNANCE_ROLE to `admin`.
    /// @dev Reverts ZeroAddress if `token_` or `admin` is zero. Emits RoleGranted (x2), MaxReviewPeriodSet.
    constructor(IERC20 token_, address admin) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNANCE_ROLE, admin);
        maxReviewPeriod = DEFAULT_MAX_REVIEW_PERIOD;
        emit MaxReviewPeriodSet(0, DEFAULT_MAX_REVIEW_PERIOD);
    }

    // ------------------------------------------------------------------ datanets

    /// @inheritdoc IDatanetRegistry
    function createDatanet(
        string calldata metadataCid,
        address treasury,
        Policy calldata policy,
        address[] calldata curators
    ) external returns (uint256 datanetId) {
        if (bytes(metadataCid).length == 0) revert EmptyCid();
        if (treasury == address(0)) revert ZeroAddress();
        if (policy.slashBps > MAX_BPS) revert SlashBpsTooHigh(policy.slashBps, MAX_BPS);
        if (policy.reviewPeriod > maxReviewPeriod) revert ReviewPeriodTooLong(policy.reviewPeriod, maxReviewPeriod);

        datanetId = ++_datanetCount;
        Datanet storage d = _datanets[datanetId];
        d.owner = msg.sender;
        d.treasury = treasury;
        d.metadataCid = metadataCid;
        d.policy = policy;
        d.createdAt = uint64(block.timestamp);
        emit DatanetCreated(datanetId, msg.sender, treasury, metadataCid, policy, d.createdAt);

        for (uint256 i = 0; i < curators.length; ++i) {
            _setCurator(datanetId, curators[i], true);
        }
    }

    /// @inheritdoc IDatanetRegistry
    function setCurator(uint256 datanetId, address curator, bool enabled) external {
        _onlyOwner(datanetId);
        _setCurator(datanetId, curator, enabled);
    }

    /// @inheritdoc IDatanetRegistry
    function publishVersion(
        uint256 datanetId,
        bytes32 merkleRoot,
        string calldata manifestCid,
        uint64 recordCount,
        uint32 contributionCount_
    ) external returns (uint256 versionId) {
        Datanet storage d = _onlyOwner(datanetId);
        if (merkleRoot == bytes32(0)) revert EmptyMerkleRoot();
        if (bytes(manifestCid).length == 0) revert EmptyCid();
        if (recordCount == 0 || contributionCount_ == 0) revert EmptyVersion(recordCount, contributionCount_);
        uint256 accepted = d.acceptedCount;
        if (contributionCount_ > accepted) revert VersionExceedsAccepted(datanetId, contributionCount_, accepted);

        versionId = ++d.versionCount;
        uint64 nowTs = uint64(block.timestamp);
        _versions[datanetId][versionId] = Version(merkleRoot, manifestCid, recordCount, contributionCount_, nowTs);
        emit VersionPublished(datanetId, versionId, merkleRoot, manifestCid, recordCount, contributionCount_, nowTs);
    }

    // ------------------------------------------------------------------ contributions

    /// @inheritdoc IDatanetRegistry
    function contribute(uint256 datanetId, string calldata contentCid, uint64 byteSize, uint32 recordCount)
        external
        nonReentrant
        returns (uint256 contributionId)
    {
        uint256 stake;
        (contributionId, stake) = _record(datanetId, contentCid, byteSize, recordCount);
        _pullStake(stake);
    }

    /// @inheritdoc IDatanetRegistry
    function contributeWithPermit(
        uint256 datanetId,
        string calldata contentCid,
        uint64 byteSize,
        uint32 recordCount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 contributionId) {
        uint256 stake;
        (contributionId, stake) = _record(datanetId, contentCid, byteSize, recordCount);
        // A front-run permit makes this call fail although the allowance is set: ignore the failure and
        // let transferFrom decide (OpenZeppelin IERC20Permit security considerations).
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), stake, deadline, v, r, s) {} catch {}
        _pullStake(stake);
    }

    /// @inheritdoc IDatanetRegistry
    function review(uint256 contributionId, bool accept, string calldata reasonCid) external nonReentrant {
        Contribution storage c = _existingContribution(contributionId);
        uint256 datanetId = c.datanetId;
        if (!_curators[datanetId][msg.sender]) revert NotCurator(datanetId, msg.sender);
        if (c.status != ContributionStatus.Pending) revert ContributionNotPending(contributionId, c.status);
        Datanet storage d = _datanets[datanetId];

        if (accept) {
            c.status = ContributionStatus.Accepted;
            ++d.acceptedCount;
            emit ContributionReviewed(contributionId, datanetId, msg.sender, true, reasonCid, 0, 0);
            return;
        }

        uint128 stake = c.stake;
        uint256 slashed = (uint256(stake) * d.policy.slashBps) / MAX_BPS;
        uint256 refunded = stake - slashed;
        c.status = ContributionStatus.Rejected;
        c.stakeReleased = true;
        _totalStakeHeld -= stake;
        emit ContributionReviewed(contributionId, datanetId, msg.sender, false, reasonCid, slashed, refunded);

        _pay(d.treasury, slashed);
        _pay(c.contributor, refunded);
    }

    /// @inheritdoc IDatanetRegistry
    function releaseStake(uint256 contributionId) external nonReentrant {
        Contribution storage c = _existingContribution(contributionId);
        if (c.status != ContributionStatus.Accepted) revert ContributionNotAccepted(contributionId, c.status);
        if (c.stakeReleased) revert StakeAlreadyReleased(contributionId);
        _requireReviewPeriodOver(contributionId, c);

        uint128 stake = c.stake;
        c.stakeReleased = true;
        _totalStakeHeld -= stake;
        emit StakeReleased(contributionId, c.contributor, stake);
        _pay(c.contributor, stake);
    }

    /// @inheritdoc IDatanetRegistry
    function withdrawContribution(uint256 contributionId) external nonReentrant {
        Contribution storage c = _existingContribution(contributionId);
        if (msg.sender != c.contributor) revert NotContributor(contributionId, msg.sender);
        if (c.status != ContributionStatus.Pending) revert ContributionNotPending(contributionId, c.status);
        _requireReviewPeriodOver(contributionId, c);

        uint128 stake = c.stake;
        c.status = ContributionStatus.Withdrawn;
        c.stakeReleased = true;
        _totalStakeHeld -= stake;
        emit ContributionWithdrawn(contributionId, msg.sender, stake);
        _pay(msg.sender, stake);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IDatanetRegistry
    function setMaxReviewPeriod(uint64 newMaxReviewPeriod) external onlyRole(GOVERNANCE_ROLE) {
        if (newMaxReviewPeriod == 0 || newMaxReviewPeriod > MAX_REVIEW_PERIOD_CAP) {
            revert MaxReviewPeriodOutOfBounds(newMaxReviewPeriod, MAX_REVIEW_PERIOD_CAP);
        }
        uint64 previous = maxReviewPeriod;
        maxReviewPeriod = newMaxReviewPeriod;
        emit MaxReviewPeriodSet(previous, newMaxReviewPeriod);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDatanetRegistry
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @inheritdoc IDatanetRegistry
    function datanetCount() external view returns (uint256) {
        return _datanetCount;
    }

    /// @inheritdoc IDatanetRegistry
    function getDatanet(uint256 datanetId) external view returns (Datanet memory) {
        return _existingDatanet(datanetId);
    }

    /// @inheritdoc IDatanetRegistry
    function contributionCount() external view returns (uint256) {
        return _contributionCount;
    }

    /// @inheritdoc IDatanetRegistry
    function getContribution(uint256 contributionId) external view returns (Contribution memory) {
        return _existingContribution(contributionId);
    }

    /// @inheritdoc IDatanetRegistry
    function versionCount(uint256 datanetId) external view returns (uint256) {
        return _datanets[datanetId].versionCount;
    }

    /// @inheritdoc IDatanetRegistry
    function getVersion(uint256 datanetId, uint256 versionId) external view returns (Version memory) {
        Datanet storage d = _existingDatanet(datanetId);
        if (versionId == 0 || versionId > d.versionCount) revert UnknownVersion(datanetId, versionId);
        return _versions[datanetId][versionId];
    }

    /// @inheritdoc IDatanetRegistry
    function isCurator(uint256 datanetId, address account) external view returns (bool) {
        return _curators[datanetId][account];
    }

    /// @inheritdoc IDatanetRegistry
    function acceptedCount(uint256 datanetId) external view returns (uint256) {
        return _datanets[datanetId].acceptedCount;
    }

    /// @inheritdoc IDatanetRegistry
    function contributionIdByCid(uint256 datanetId, address contributor, string calldata contentCid)
        external
        view
        returns (uint256)
    {
        return _byCid[datanetId][_contributorCidKey(contributor, contentCid)];
    }

    /// @inheritdoc IDatanetRegistry
    function totalStakeHeld() external view returns (uint256) {
        return _totalStakeHeld;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Checks and effects of {contribute} and {contributeWithPermit}; the caller then pulls `stake`.
    function _record(uint256 datanetId, string calldata contentCid, uint64 byteSize, uint32 recordCount)
        private
        returns (uint256 contributionId, uint256 stake)
    {
        Datanet storage d = _existingDatanet(datanetId);
        if (bytes(contentCid).length == 0) revert EmptyCid();
        if (byteSize == 0 || recordCount == 0) revert EmptyContribution(byteSize, recordCount);
        bytes32 cidHash = _contributorCidKey(msg.sender, contentCid);
        uint256 previous = _byCid[datanetId][cidHash];
        // Only a Withdrawn (never reviewed) contribution frees its CID for a new submission.
        if (previous != 0 && _contributions[previous].status != ContributionStatus.Withdrawn) {
            revert DuplicateContribution(datanetId, contentCid);
        }

        uint128 stake128 = d.policy.stakePerContribution.toUint128();
        stake = stake128;
        contributionId = ++_contributionCount;
        _totalStakeHeld += stake128;
        ++d.contributionCount;
        _byCid[datanetId][cidHash] = contributionId;
        Contribution storage c = _contributions[contributionId]; // two slots; stakeReleased stays false
        c.contributor = msg.sender;
        c.submittedAt = uint40(block.timestamp); // uint40 seconds last until the year 36812
        c.status = ContributionStatus.Pending;
        c.recordCount = recordCount;
        c.datanetId = uint64(datanetId); // <= _datanetCount, a uint64 (checked by _existingDatanet)
        c.byteSize = byteSize;
        c.stake = stake128;
        emit ContributionSubmitted(
            contributionId, datanetId, msg.sender, contentCid, byteSize, recordCount, stake, uint64(block.timestamp)
        );
    }

    /// @dev A CID is owned per contributor: a front-runner submitting the same CID gets its own record.
    function _contributorCidKey(address contributor, string calldata contentCid) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(contributor, contentCid));
    }

    /// @dev Escrows `stake` from the caller (nothing for a free datanet).
    function _pullStake(uint256 stake) private {
        if (stake != 0) _token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @dev Enables or disables `curator` for the datanet and emits {CuratorSet}.
    function _setCurator(uint256 datanetId, address curator, bool enabled) private {
        if (curator == address(0)) revert ZeroAddress();
        _curators[datanetId][curator] = enabled;
        emit CuratorSet(datanetId, curator, enabled);
    }

    /// @dev Pays `amount` out of the escrow (nothing when 0).
    function _pay(address to, uint256 amount) private {
        if (amount != 0) _token.safeTransfer(to, amount);
    }

    /// @dev Reverts ReviewPeriodNotOver until `submittedAt + reviewPeriod`.
    function _requireReviewPeriodOver(uint256 contributionId, Contribution storage c) private view {
        uint64 endsAt = c.submittedAt + _datanets[c.datanetId].policy.reviewPeriod;
        if (block.timestamp < endsAt) revert ReviewPeriodNotOver(contributionId, endsAt, uint64(block.timestamp));
    }

    /// @dev The datanet, if it exists and the caller owns it.
    function _onlyOwner(uint256 datanetId) private view returns (Datanet storage d) {
        d = _existingDatanet(datanetId);
        if (msg.sender != d.owner) revert NotDatanetOwner(datanetId, msg.sender);
    }

    /// @dev The datanet, if `1 <= datanetId <= datanetCount`.
    function _existingDatanet(uint256 datanetId) private view returns (Datanet storage d) {
        if (datanetId == 0 || datanetId > _datanetCount) revert UnknownDatanet(datanetId);
        return _datanets[datanetId];
    }

    /// @dev The contribution, if it exists: every stored record has a status, so the check reads the slot the
    ///      caller reads anyway instead of the contribution counter.
    function _existingContribution(uint256 contributionId) private view returns (Contribution storage c) {
        c = _contributions[contributionId];
        if (c.status == ContributionStatus.None) revert UnknownContribution(contributionId);
    }
}
