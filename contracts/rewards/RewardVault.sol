// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ChallengeSettlement} from "../common/ChallengeSettlement.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IRewardVault} from "../interfaces/IRewardVault.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title RewardVault
/// @notice Takes inference payments, splits them (treasury, model owner, compute provider: credited;
///         contributors: the model's pool), and pays each pool out through challengeable epoch Merkle
///         roots that contributors claim against until the epoch's claim deadline.
/// @dev Solvency: a root moves its `total` from the pool's `available` balance to `reserved` when posted;
///      claims draw on the epoch (never beyond its `total`); a struck-down root and the unclaimed rest of
///      an expired epoch go back to `available` for later epochs. The poster locks collateralBps of the
///      total from its free worker stake until finalization; an upheld challenge slashes it and revokes it
///      as the model's provider. Needs SLASHER_ROLE on the WorkerRegistry and to be the ModelRegistry's
///      bound vault.
contract RewardVault is IRewardVault, ChallengeSettlement {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @dev One slot per model, already written by the model's first payment, so a model's first epoch
    ///      root writes no fresh slot for its counter. 104 bits hold 2e31 wei, far above OPEN's supply.
    struct Pool {
        uint104 available;
        uint104 reserved;
        uint48 nextEpoch;
    }

    IModelRegistry public immutable modelRegistry;

    /// @inheritdoc IRewardVault
    uint256 public paymentCount;
    /// @inheritdoc IRewardVault
    uint64 public claimPeriod = 180 days;
    /// @inheritdoc IRewardVault
    uint16 public lineageShareBps = 1_000;
    /// @notice Bound of {setLineageShareBps}: a derived model's own contributors keep at least half.
    uint16 public constant MAX_LINEAGE_SHARE_BPS = 5_000;

    FeeSplit private _feeSplit =
        FeeSplit({treasuryBps: 1_000, ownerBps: 2_000, providerBps: 2_000, contributorsBps: 5_000});
    mapping(uint256 modelId => Pool) private _pools;
    mapping(uint256 modelId => mapping(uint64 epoch => Epoch)) private _epochs;
    mapping(uint256 modelId => mapping(uint64 epoch => mapping(uint256 word => uint256 bits))) private _claimedBits;

    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNANCE_ROLE (the timelock in deployments).
    constructor(
        IERC20 token_,
        IModelRegistry modelRegistry_,
        IWorkerRegistry workerRegistry_,
        address treasury_,
        address admin
    ) ChallengeSettlement(token_, workerRegistry_, treasury_, admin) {
        if (address(modelRegistry_) == address(0)) revert ZeroAddress();
        modelRegistry = modelRegistry_;
    }

    // ------------------------------------------------------------------ payments

    /// @inheritdoc IRewardVault
    function payForInference(uint256 modelId, uint256 requestCount, uint256 maxPrice, bytes32 requestRef)
        external
        nonReentrant
        returns (uint256 paymentId)
    {
        (bool servable, uint256 price, address owner, address provider) = modelRegistry.paymentTerms(modelId);
        if (!servable) revert ModelNotLive(modelId);
        if (price > maxPrice) revert PriceAboveMaximum(modelId, price, maxPrice);
        if (requestCount == 0) revert ZeroAmount();
        uint256 amount = price * requestCount;
        paymentId = ++paymentCount;
        uint256[4] memory shares = _splitAndCredit(modelId, amount, owner, provider);
        emit InferencePaid(
            paymentId, modelId, msg.sender, requestCount, amount, requestRef, shares[0], shares[1], shares[2], shares[3]
        );
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ------------------------------------------------------------------ epochs

    /// @inheritdoc IRewardVault
    function postEpochRoot(uint256 modelId, uint64 epoch, bytes32 root, uint256 total, string calldata reportCid)
        external
    {
        if (modelRegistry.computeProviderOf(modelId) != msg.sender) revert NotComputeProvider(modelId, msg.sender);
        if (!workerRegistry.isActiveWorker(msg.sender)) revert ProviderNotActive(modelId, msg.sender);
        Pool storage p = _pools[modelId];
        uint64 next = p.nextEpoch;
        if (epoch > next) revert EpochOutOfOrder(modelId, epoch, next);
        Epoch storage e = _epochs[modelId][epoch];
        if (e.status != EpochStatus.None) revert EpochAlreadyPosted(modelId, epoch);
        if (root == bytes32(0)) revert EmptyField("root");
        if (total == 0) revert ZeroAmount();
        if (bytes(reportCid).length == 0) revert EmptyField("reportCid");
        if (total > p.available) revert InsufficientPool(modelId, p.available, total);

        uint256 collateral = _collateralFor(total);
        p.available -= uint104(total);
        p.reserved += uint104(total);
        if (epoch == next) p.nextEpoch = uint48(next + 1); // one epoch per call: 2**48 is out of reach
        uint40 deadline = uint40(block.timestamp + challengeWindow);
        e.root = root;
        e.poster = msg.sender;
        e.lockedStake = collateral.toUint96();
        e.total = uint96(total); // <= available, itself < token supply < 2**96
        e.deadline = deadline;
        e.status = EpochStatus.Posted;
        emit EpochPosted(modelId, epoch, msg.sender, root, total, reportCid, deadline, collateral);
        workerRegistry.lock(msg.sender, collateral);
    }

    /// @inheritdoc IRewardVault
    function challengeEpoch(uint256 modelId, uint64 epoch, string calldata reasonCid) external nonReentrant {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Posted);
        if (block.timestamp > e.deadline) revert ChallengeWindowClosed(modelId, epoch, e.deadline);
        if (bytes(reasonCid).length == 0) revert EmptyField("reasonCid");
        e.status = EpochStatus.Challenged;
        (uint256 bond, uint64 rulingDeadline) = _openDispute(e.dispute);
        emit EpochChallenged(modelId, epoch, msg.sender, bond, reasonCid, rulingDeadline);
        _pullBond(bond);
    }

    /// @inheritdoc IRewardVault
    function resolveEpochChallenge(uint256 modelId, uint64 epoch, bool upheld)
        external
        onlyRole(GOVERNANCE_ROLE)
        nonReentrant
    {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Challenged);
        if (!upheld) {
            (address challenger, uint256 bond, uint64 reopened) = _rejectDispute(e.dispute, e.deadline);
            e.status = EpochStatus.Posted;
            e.deadline = uint40(reopened);
            emit EpochChallengeResolved(modelId, epoch, false, challenger, 0, 0, bond);
            emit EpochChallengeWindowReopened(modelId, epoch, reopened);
            return;
        }
        address poster = e.poster;
        uint256 collateral = e.lockedStake;
        (address challenger_, uint256 slashed, uint256 challengerPayout, uint256 treasuryPayout) =
            _upholdDispute(e.dispute, poster, collateral);
        _strike(modelId, epoch, e);
        emit EpochChallengeResolved(modelId, epoch, true, challenger_, slashed, challengerPayout, treasuryPayout);
        _slashAndUnlock(poster, slashed, collateral);
        // A provider caught posting a false root serves this model no more until its owner says so.
        modelRegistry.revokeProvider(modelId, poster);
    }

    /// @inheritdoc IRewardVault
    function lapseEpochChallenge(uint256 modelId, uint64 epoch) external nonReentrant {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Challenged);
        address poster = e.poster;
        uint256 collateral = e.lockedStake;
        (address challenger, uint256 bond) = _lapseDispute(e.dispute);
        _strike(modelId, epoch, e);
        emit EpochChallengeLapsed(modelId, epoch, challenger, poster, bond);
        workerRegistry.unlock(poster, collateral);
    }

    /// @inheritdoc IRewardVault
    function finalizeEpoch(uint256 modelId, uint64 epoch) external {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Posted);
        if (block.timestamp <= e.deadline) revert ChallengeWindowOpen(modelId, epoch, e.deadline);
        uint256 collateral = e.lockedStake;
        uint40 claimDeadline = uint40(block.timestamp + claimPeriod);
        // lockedStake stays as a record of what the root locked (its slot is not rewritten: cheaper).
        e.status = EpochStatus.Finalized;
        e.deadline = claimDeadline;
        emit EpochFinalized(modelId, epoch, claimDeadline);
        workerRegistry.unlock(e.poster, collateral);
    }

    /// @inheritdoc IRewardVault
    function claim(
        uint256 modelId,
        uint64 epoch,
        uint256 index,
        address account,
        uint256 amount,
        bytes32[] calldata proof
    ) external nonReentrant {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Finalized);
        if (block.timestamp > e.deadline) revert ClaimPeriodOver(modelId, epoch, e.deadline);
        if (amount == 0) revert ZeroAmount();
        uint256 bit = 1 << (index & 0xff);
        uint256 bits = _claimedBits[modelId][epoch][index >> 8];
        if (bits & bit != 0) revert AlreadyClaimed(modelId, epoch, index);
        if (!MerkleProof.verifyCalldata(proof, e.root, _leaf(index, account, amount))) {
            revert InvalidProof(modelId, epoch, index, account, amount);
        }
        uint256 claimedAfter = e.claimed + amount;
        if (claimedAfter > e.total) revert EpochTotalExceeded(modelId, epoch, e.claimed, amount, e.total);

        _claimedBits[modelId][epoch][index >> 8] = bits | bit;
        e.claimed = uint96(claimedAfter); // <= total < 2**96
        emit Claimed(modelId, epoch, index, account, amount);
        token.safeTransfer(account, amount);
    }

    /// @inheritdoc IRewardVault
    function sweepEpoch(uint256 modelId, uint64 epoch) external {
        Epoch storage e = _epochIn(modelId, epoch, EpochStatus.Finalized);
        if (block.timestamp <= e.deadline) revert ClaimPeriodActive(modelId, epoch, e.deadline);
        uint256 total = e.total;
        uint256 unclaimed = total - e.claimed;
        e.status = EpochStatus.Swept;
        Pool storage p = _pools[modelId];
        p.reserved -= uint104(total);
        p.available += uint104(unclaimed);
        emit EpochSwept(modelId, epoch, unclaimed);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IRewardVault
    function setFeeSplit(FeeSplit calldata split) external onlyRole(GOVERNANCE_ROLE) {
        uint256 sum = uint256(split.treasuryBps) + split.ownerBps + split.providerBps + split.contributorsBps;
        if (sum != BPS) revert FeeSplitSumInvalid(sum);
        _feeSplit = split;
        emit FeeSplitSet(split.treasuryBps, split.ownerBps, split.providerBps, split.contributorsBps);
    }

    /// @inheritdoc IRewardVault
    function setClaimPeriod(uint64 value) external onlyRole(GOVERNANCE_ROLE) {
        _checkWindow(value);
        claimPeriod = value;
        emit ClaimPeriodSet(value);
    }

    /// @inheritdoc IRewardVault
    function setLineageShareBps(uint16 bps) external onlyRole(GOVERNANCE_ROLE) {
        if (bps > MAX_LINEAGE_SHARE_BPS) revert LineageShareOutOfRange(bps, MAX_LINEAGE_SHARE_BPS);
        lineageShareBps = bps;
        emit LineageShareSet(bps);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IRewardVault
    function upstreamSplit(uint256 modelId, uint256 upstream)
        external
        view
        returns (uint256[] memory models, uint256[] memory jobs, uint256[] memory kept)
    {
        (models, jobs) = modelRegistry.ancestorsOf(modelId);
        uint256 levels = models.length;
        kept = new uint256[](levels);
        uint256 bps = lineageShareBps;
        uint256 received = upstream;
        for (uint256 i = 0; i < levels; ++i) {
            uint256 passed = i + 1 < levels ? received * bps / BPS : 0;
            kept[i] = received - passed;
            received = passed;
        }
    }

    /// @inheritdoc IRewardVault
    function pool(uint256 modelId) external view returns (uint256 available, uint256 reserved) {
        Pool storage p = _pools[modelId];
        return (p.available, p.reserved);
    }

    /// @inheritdoc IRewardVault
    function nextEpoch(uint256 modelId) external view returns (uint64) {
        return _pools[modelId].nextEpoch;
    }

    /// @inheritdoc IRewardVault
    function getEpoch(uint256 modelId, uint64 epoch) external view returns (Epoch memory) {
        return _epochs[modelId][epoch];
    }

    /// @inheritdoc IRewardVault
    function isClaimed(uint256 modelId, uint64 epoch, uint256 index) external view returns (bool) {
        return _claimedBits[modelId][epoch][index >> 8] & (1 << (index & 0xff)) != 0;
    }

    /// @inheritdoc IRewardVault
    function feeSplit() external view returns (FeeSplit memory) {
        return _feeSplit;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Credits the three party shares and adds the contributors' share (which absorbs rounding
    ///      dust, so the shares always sum to `amount`) to the model's pool.
    function _splitAndCredit(uint256 modelId, uint256 amount, address owner, address provider)
        private
        returns (uint256[4] memory shares)
    {
        FeeSplit memory s = _feeSplit;
        shares[0] = amount * s.treasuryBps / BPS;
        shares[1] = amount * s.ownerBps / BPS;
        shares[2] = amount * s.providerBps / BPS;
        shares[3] = amount - shares[0] - shares[1] - shares[2];
        _credit(treasury, shares[0]);
        _credit(owner, shares[1]);
        _credit(provider, shares[2]);
        _pools[modelId].available += shares[3].toUint104();
    }

    /// @dev Deletes a struck-down or voided epoch (it may be posted again) and returns its total to the
    ///      pool's available balance.
    function _strike(uint256 modelId, uint64 epoch, Epoch storage e) private {
        uint104 total = e.total;
        Pool storage p = _pools[modelId];
        p.reserved -= total;
        p.available += total;
        delete _epochs[modelId][epoch];
    }

    function _epochIn(uint256 modelId, uint64 epoch, EpochStatus expected) private view returns (Epoch storage e) {
        e = _epochs[modelId][epoch];
        if (e.status != expected) revert InvalidEpochStatus(modelId, epoch, e.status);
    }

    /// @dev OpenZeppelin StandardMerkleTree leaf for ["uint256","address","uint256"] (index, account,
    ///      amount); double hash: no second preimage.
    function _leaf(uint256 index, address account, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(index, account, amount))));
    }
}
