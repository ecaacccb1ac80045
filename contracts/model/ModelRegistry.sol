// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ChallengeSettlement} from "../common/ChallengeSettlement.sol";
import {IDatanetVersions} from "../interfaces/IDatanetVersions.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title ModelRegistry
/// @notice Models bound to exact datanet versions and the training jobs that make them live. Only a
///         model's owner (or an address it approved) posts training for it, and only the owner replaces a
///         live model's adapter and provider. Holds job bounties and challenge bonds; payouts are credited
///         and withdrawn (pull payments).
/// @dev Needs SLASHER_ROLE on the WorkerRegistry: a claim locks collateral (collateralBps of the bounty)
///      from the worker's free stake until finalization (or release, cancellation, a lapsed or upheld
///      challenge). The bound RewardVault may revoke a provider whose epoch root was struck down.
contract ModelRegistry is IModelRegistry, ChallengeSettlement {
    using SafeERC20 for IERC20;

    IDatanetVersions public immutable datanetRegistry;

    uint64 public leaseDuration = 1 days;
    /// @notice Longest a worker may hold one claim, renewals included.
    uint64 public maxLeaseTime = 3 days;
    /// @notice Seconds after the request after which nobody can claim and the requester may cancel.
    uint64 public jobDeadline = 14 days;
    /// @inheritdoc IModelRegistry
    address public rewardVault;

    /// @inheritdoc IModelRegistry
    uint256 public modelCount;
    /// @inheritdoc IModelRegistry
    uint256 public jobCount;

    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 modelId => mapping(address account => bool)) private _requesters;
    mapping(uint256 modelId => mapping(address provider => bool)) private _revoked;

    /// @dev A derived model's parent and the parent's job it starts from, set once at registration.
    struct Lineage {
        uint64 parentModelId;
        uint64 parentJobId;
        uint8 depth;
    }

    /// @notice Most levels a derived model may sit below a model registered from scratch (governance).
    uint8 public maxLineageDepth = 3;
    /// @notice Bound of {setMaxLineageDepth}.
    uint8 public constant MAX_LINEAGE_DEPTH = 8;

    mapping(uint256 modelId => Lineage) private _lineage;

    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNANCE_ROLE (the timelock in deployments).
    constructor(
        IERC20 token_,
        IDatanetVersions datanetRegistry_,
        IWorkerRegistry workerRegistry_,
        address treasury_,
        address admin
    ) ChallengeSettlement(token_, workerRegistry_, treasury_, admin) {
        if (address(datanetRegistry_) == address(0)) revert ZeroAddress();
        datanetRegistry = datanetRegistry_;
    }

    // ------------------------------------------------------------------ models

    /// @inheritdoc IModelRegistry
    function registerModel(
        uint256 datanetId,
        uint256 versionId,
        string calldata baseModel,
        string calldata trainingSpecCid,
        uint256 pricePerInference
    ) external returns (uint256 modelId) {
        modelId = _register(datanetId, versionId, baseModel, trainingSpecCid, pricePerInference);
    }

    /// @inheritdoc IModelRegistry
    function registerDerivedModel(
        uint256 datanetId,
        uint256 versionId,
        string calldata baseModel,
        string calldata trainingSpecCid,
        uint256 pricePerInference,
        uint256 parentModelId
    ) external returns (uint256 modelId) {
        Model storage parent = _model(parentModelId);
        if (parent.status != ModelStatus.Live) revert ParentNotLive(parentModelId);
        if (keccak256(bytes(parent.baseModel)) != keccak256(bytes(baseModel))) {
            revert BaseModelMismatch(parentModelId, parent.baseModel, baseModel);
        }
        uint256 depth = uint256(_lineage[parentModelId].depth) + 1;
        if (depth > maxLineageDepth) revert LineageTooDeep(parentModelId, depth, maxLineageDepth);
        uint256 parentJobId = parent.liveJobId;
        modelId = _register(datanetId, versionId, baseModel, trainingSpecCid, pricePerInference);
        // ids are counters far below 2**64; depth <= MAX_LINEAGE_DEPTH
        _lineage[modelId] = Lineage(uint64(parentModelId), uint64(parentJobId), uint8(depth));
        emit ModelDerived(modelId, parentModelId, parentJobId, depth);
    }

    /// @inheritdoc IModelRegistry
    function setPrice(uint256 modelId, uint256 price) external {
        _ownedModel(modelId);
        if (price == 0) revert ZeroAmount();
        _models[modelId].pricePerInference = price;
        emit PriceSet(modelId, price);
    }

    /// @inheritdoc IModelRegistry
    function setRequester(uint256 modelId, address account, bool approved) external {
        _ownedModel(modelId);
        if (account == address(0)) revert ZeroAddress();
        _requesters[modelId][account] = approved;
        emit RequesterSet(modelId, account, approved);
    }

    /// @inheritdoc IModelRegistry
    function activateResult(uint256 jobId) external {
        Job storage job = _job(jobId);
        Model storage m = _ownedModel(job.modelId);
        if (job.status != JobStatus.Finalized) revert InvalidJobStatus(jobId, job.status);
        if (m.liveJobId == jobId) revert AlreadyLive(job.modelId, jobId);
        // The owner's acceptance is what lets a revoked provider serve this model again.
        delete _revoked[job.modelId][job.worker];
        _goLive(m, job.modelId, jobId, job.worker, job.result.adapterCid);
    }

    /// @inheritdoc IModelRegistry
    function revokeProvider(uint256 modelId, address provider) external {
        if (msg.sender != rewardVault) revert NotRewardVault(msg.sender);
        Model storage m = _models[modelId];
        // Remembered whoever serves now: a caught provider's later results wait for the owner.
        _revoked[modelId][provider] = true;
        emit ProviderRevoked(modelId, provider);
        // A root struck after the owner already moved on must not unseat the new provider.
        if (m.computeProvider == provider) m.computeProvider = address(0);
    }

    /// @inheritdoc IModelRegistry
    function bindRewardVault(address vault) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (rewardVault != address(0)) revert RewardVaultAlreadyBound(rewardVault);
        if (vault == address(0)) revert ZeroAddress();
        rewardVault = vault;
        emit RewardVaultBound(vault);
    }

    // ------------------------------------------------------------------ jobs

    /// @inheritdoc IModelRegistry
    function requestTraining(uint256 modelId, uint256 bounty) external nonReentrant returns (uint256 jobId) {
        Model storage m = _model(modelId);
        if (msg.sender != m.owner && !_requesters[modelId][msg.sender]) {
            revert NotApprovedRequester(modelId, msg.sender);
        }
        if (bounty == 0) revert ZeroAmount();
        jobId = ++jobCount;
        Job storage job = _jobs[jobId];
        job.modelId = modelId;
        job.requester = msg.sender;
        job.bounty = bounty;
        job.status = JobStatus.Open;
        job.requestedAt = uint64(block.timestamp);
        emit TrainingRequested(jobId, modelId, msg.sender, bounty);
        token.safeTransferFrom(msg.sender, address(this), bounty);
    }

    /// @inheritdoc IModelRegistry
    function cancelJob(uint256 jobId) external nonReentrant {
        Job storage job = _job(jobId);
        if (job.requester != msg.sender) revert NotRequester(jobId, msg.sender);
        address worker = job.worker;
        uint256 collateral = job.lockedStake;
        if (job.status == JobStatus.Claimed) {
            // A lease blocks cancellation only until it expires or the job's hard deadline passes.
            uint64 hardDeadline = job.requestedAt + jobDeadline;
            if (block.timestamp <= job.leaseExpiresAt && block.timestamp <= hardDeadline) {
                revert LeaseStillActive(jobId, job.leaseExpiresAt < hardDeadline ? job.leaseExpiresAt : hardDeadline);
            }
        } else if (job.status != JobStatus.Open) {
            revert InvalidJobStatus(jobId, job.status);
        }
        uint256 refund = job.bounty;
        job.status = JobStatus.Cancelled;
        job.bounty = 0;
        job.worker = address(0);
        job.leaseExpiresAt = 0;
        job.lockedStake = 0;
        emit JobCancelled(jobId, msg.sender, refund, worker);
        if (worker != address(0)) workerRegistry.unlock(worker, collateral);
        token.safeTransfer(msg.sender, refund);
    }

    /// @inheritdoc IModelRegistry
    function claimJob(uint256 jobId) external {
        Job storage job = _job(jobId);
        if (!workerRegistry.isActiveWorker(msg.sender)) revert NotActiveWorker(msg.sender);
        uint64 hardDeadline = job.requestedAt + jobDeadline;
        if (block.timestamp > hardDeadline) revert JobDeadlinePassed(jobId, hardDeadline);
        address previous = job.worker;
        uint256 previousCollateral = job.lockedStake;
        if (job.status == JobStatus.Claimed) {
            if (block.timestamp <= job.leaseExpiresAt) revert LeaseStillActive(jobId, job.leaseExpiresAt);
        } else if (job.status != JobStatus.Open) {
            revert InvalidJobStatus(jobId, job.status);
        }
        uint256 collateral = _collateralFor(job.bounty);
        uint64 now_ = uint64(block.timestamp);
        uint64 expiresAt = now_ + leaseDuration;
        job.status = JobStatus.Claimed;
        job.worker = msg.sender;
        job.claimedAt = now_;
        job.leaseExpiresAt = expiresAt;
        job.lockedStake = collateral;
        emit JobClaimed(jobId, msg.sender, expiresAt, previous, collateral);
        if (previous != address(0)) workerRegistry.unlock(previous, previousCollateral);
        workerRegistry.lock(msg.sender, collateral);
    }

    /// @inheritdoc IModelRegistry
    function renewLease(uint256 jobId) external {
        Job storage job = _leaseHolderJob(jobId);
        if (!workerRegistry.isActiveWorker(msg.sender)) revert NotActiveWorker(msg.sender);
        if (block.timestamp > job.leaseExpiresAt) revert LeaseExpired(jobId, job.leaseExpiresAt);
        uint64 cap = job.claimedAt + maxLeaseTime;
        uint64 expiresAt = uint64(block.timestamp) + leaseDuration;
        if (expiresAt > cap) expiresAt = cap;
        if (expiresAt <= job.leaseExpiresAt) revert LeaseCapReached(jobId, cap);
        job.leaseExpiresAt = expiresAt;
        emit LeaseRenewed(jobId, msg.sender, expiresAt);
    }

    /// @inheritdoc IModelRegistry
    function releaseJob(uint256 jobId) external {
        Job storage job = _leaseHolderJob(jobId);
        uint256 collateral = job.lockedStake;
        job.status = JobStatus.Open;
        job.worker = address(0);
        job.leaseExpiresAt = 0;
        job.lockedStake = 0;
        emit JobReleased(jobId, msg.sender);
        workerRegistry.unlock(msg.sender, collateral);
    }

    /// @inheritdoc IModelRegistry
    function submitResult(
        uint256 jobId,
        string calldata adapterCid,
        string calldata metricsCid,
        bytes32 attributionRoot,
        string calldata reportCid
    ) external {
        Job storage job = _leaseHolderJob(jobId);
        if (block.timestamp > job.leaseExpiresAt) revert LeaseExpired(jobId, job.leaseExpiresAt);
        if (!workerRegistry.isActiveWorker(msg.sender)) revert NotActiveWorker(msg.sender);
        if (bytes(adapterCid).length == 0) revert EmptyField("adapterCid");
        if (bytes(metricsCid).length == 0) revert EmptyField("metricsCid");
        if (attributionRoot == bytes32(0)) revert EmptyField("attributionRoot");
        if (bytes(reportCid).length == 0) revert EmptyField("reportCid");
        uint64 deadline = uint64(block.timestamp) + challengeWindow;
        job.status = JobStatus.Submitted;
        job.challengeDeadline = deadline;
        job.result = Result(adapterCid, metricsCid, attributionRoot, reportCid, uint64(block.timestamp));
        emit ResultSubmitted(jobId, msg.sender, adapterCid, metricsCid, attributionRoot, reportCid, deadline);
    }

    /// @inheritdoc IModelRegistry
    function challengeResult(uint256 jobId, string calldata reasonCid) external nonReentrant {
        Job storage job = _job(jobId);
        if (job.status != JobStatus.Submitted) revert InvalidJobStatus(jobId, job.status);
        if (block.timestamp > job.challengeDeadline) revert ChallengeWindowClosed(jobId, job.challengeDeadline);
        if (bytes(reasonCid).length == 0) revert EmptyField("reasonCid");
        job.status = JobStatus.Challenged;
        (uint256 bond, uint64 rulingDeadline) = _openDispute(job.dispute);
        emit ResultChallenged(jobId, msg.sender, bond, reasonCid, rulingDeadline);
        _pullBond(bond);
    }

    /// @inheritdoc IModelRegistry
    function resolveChallenge(uint256 jobId, bool upheld) external onlyRole(GOVERNANCE_ROLE) nonReentrant {
        Job storage job = _challengedJob(jobId);
        address worker = job.worker;
        if (!upheld) {
            (address challenger, uint256 bond, uint64 deadline) = _rejectDispute(job.dispute, job.challengeDeadline);
            job.status = JobStatus.Submitted;
            job.challengeDeadline = deadline;
            emit ChallengeResolved(jobId, false, challenger, worker, 0, 0, bond);
            emit ChallengeWindowReopened(jobId, deadline);
            return;
        }
        uint256 collateral = _voidResult(job);
        (address challenger_, uint256 slashed, uint256 challengerPayout, uint256 treasuryPayout) =
            _upholdDispute(job.dispute, worker, collateral);
        emit ChallengeResolved(jobId, true, challenger_, worker, slashed, challengerPayout, treasuryPayout);
        _slashAndUnlock(worker, slashed, collateral);
    }

    /// @inheritdoc IModelRegistry
    function lapseChallenge(uint256 jobId) external nonReentrant {
        Job storage job = _challengedJob(jobId);
        address worker = job.worker;
        (address challenger, uint256 bond) = _lapseDispute(job.dispute);
        uint256 collateral = _voidResult(job);
        emit ChallengeLapsed(jobId, challenger, worker, bond);
        workerRegistry.unlock(worker, collateral);
    }

    /// @inheritdoc IModelRegistry
    function finalize(uint256 jobId) external {
        Job storage job = _job(jobId);
        if (job.status != JobStatus.Submitted) revert InvalidJobStatus(jobId, job.status);
        if (block.timestamp <= job.challengeDeadline) revert ChallengeWindowOpen(jobId, job.challengeDeadline);
        address worker = job.worker;
        uint256 modelId = job.modelId;
        uint256 bounty = job.bounty;
        uint256 collateral = job.lockedStake;
        job.status = JobStatus.Finalized;
        job.lockedStake = 0;
        _credit(worker, bounty);
        emit JobFinalized(jobId, modelId, worker, bounty);
        Model storage m = _models[modelId];
        // A model that already has a working provider changes adapter and provider only when its owner
        // accepts the new result (activateResult); a model without one goes live on what it asked for,
        // unless the result's worker is a provider this model revoked.
        if (_hasActiveProvider(m) || _revoked[modelId][worker]) emit ResultAwaitingOwner(modelId, jobId, worker);
        else _goLive(m, modelId, jobId, worker, job.result.adapterCid);
        workerRegistry.unlock(worker, collateral);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IModelRegistry
    function setLeaseDuration(uint64 value) external onlyRole(GOVERNANCE_ROLE) {
        _checkWindow(value);
        leaseDuration = value;
        emit LeaseDurationSet(value);
    }

    /// @inheritdoc IModelRegistry
    function setMaxLeaseTime(uint64 value) external onlyRole(GOVERNANCE_ROLE) {
        _checkWindow(value);
        maxLeaseTime = value;
        emit MaxLeaseTimeSet(value);
    }

    /// @inheritdoc IModelRegistry
    function setJobDeadline(uint64 value) external onlyRole(GOVERNANCE_ROLE) {
        _checkWindow(value);
        jobDeadline = value;
        emit JobDeadlineSet(value);
    }

    /// @inheritdoc IModelRegistry
    function setMaxLineageDepth(uint8 value) external onlyRole(GOVERNANCE_ROLE) {
        if (value > MAX_LINEAGE_DEPTH) revert LineageDepthOutOfRange(value, MAX_LINEAGE_DEPTH);
        maxLineageDepth = value;
        emit MaxLineageDepthSet(value);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IModelRegistry
    function lineageOf(uint256 modelId)
        external
        view
        returns (uint256 parentModelId, uint256 parentJobId, uint256 depth)
    {
        Lineage storage l = _lineage[modelId];
        return (l.parentModelId, l.parentJobId, l.depth);
    }

    /// @inheritdoc IModelRegistry
    function ancestorsOf(uint256 modelId) external view returns (uint256[] memory models, uint256[] memory jobs) {
        uint256 levels = _lineage[modelId].depth;
        uint256 limit = maxLineageDepth;
        if (levels > limit) levels = limit;
        models = new uint256[](levels);
        jobs = new uint256[](levels);
        uint256 current = modelId;
        for (uint256 i = 0; i < levels; ++i) {
            Lineage storage l = _lineage[current];
            models[i] = l.parentModelId;
            jobs[i] = l.parentJobId;
            current = l.parentModelId;
        }
    }

    /// @inheritdoc IModelRegistry
    function getModel(uint256 modelId) external view returns (Model memory) {
        return _model(modelId);
    }

    /// @inheritdoc IModelRegistry
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _job(jobId);
    }

    /// @inheritdoc IModelRegistry
    function isLive(uint256 modelId) external view returns (bool) {
        return _models[modelId].status == ModelStatus.Live;
    }

    /// @inheritdoc IModelRegistry
    function isApprovedRequester(uint256 modelId, address account) external view returns (bool) {
        Model storage m = _models[modelId];
        return m.status != ModelStatus.None && (account == m.owner || _requesters[modelId][account]);
    }

    /// @inheritdoc IModelRegistry
    function isRevokedProvider(uint256 modelId, address account) external view returns (bool) {
        return _revoked[modelId][account];
    }

    /// @inheritdoc IModelRegistry
    function paymentTerms(uint256 modelId)
        external
        view
        returns (bool servable, uint256 pricePerInference, address owner, address computeProvider)
    {
        Model storage m = _models[modelId];
        return (_hasActiveProvider(m), m.pricePerInference, m.owner, m.computeProvider);
    }

    /// @inheritdoc IModelRegistry
    function computeProviderOf(uint256 modelId) external view returns (address) {
        return _models[modelId].computeProvider;
    }

    /// @inheritdoc IModelRegistry
    function params() external view returns (Params memory) {
        return Params(
            leaseDuration,
            maxLeaseTime,
            jobDeadline,
            challengeWindow,
            rulingPeriod,
            challengeBond,
            slashAmount,
            challengerRewardBps,
            collateralBps,
            treasury
        );
    }

    // ------------------------------------------------------------------ internals

    function _register(
        uint256 datanetId,
        uint256 versionId,
        string calldata baseModel,
        string calldata trainingSpecCid,
        uint256 pricePerInference
    ) private returns (uint256 modelId) {
        if (versionId == 0 || versionId > datanetRegistry.versionCount(datanetId)) {
            revert UnknownVersion(datanetId, versionId);
        }
        if (bytes(baseModel).length == 0) revert EmptyField("baseModel");
        if (bytes(trainingSpecCid).length == 0) revert EmptyField("trainingSpecCid");
        if (pricePerInference == 0) revert ZeroAmount();
        modelId = ++modelCount;
        Model storage m = _models[modelId];
        m.owner = msg.sender;
        m.datanetId = datanetId;
        m.versionId = versionId;
        m.baseModel = baseModel;
        m.trainingSpecCid = trainingSpecCid;
        m.pricePerInference = pricePerInference;
        m.status = ModelStatus.Registered;
        emit ModelRegistered(modelId, msg.sender, datanetId, versionId, baseModel, trainingSpecCid, pricePerInference);
    }

    function _goLive(Model storage m, uint256 modelId, uint256 jobId, address worker, string storage adapterCid)
        private
    {
        m.status = ModelStatus.Live;
        m.liveJobId = jobId;
        m.computeProvider = worker;
        m.adapterCid = adapterCid;
        emit ModelLive(modelId, jobId, worker, adapterCid);
    }

    /// @dev Clears a challenged result: the job is Open again for any worker. Returns the collateral the
    ///      lease held, for the caller to release (and slash).
    function _voidResult(Job storage job) private returns (uint256 collateral) {
        collateral = job.lockedStake;
        job.status = JobStatus.Open;
        job.worker = address(0);
        job.leaseExpiresAt = 0;
        job.challengeDeadline = 0;
        job.lockedStake = 0;
        delete job.result;
    }

    function _hasActiveProvider(Model storage m) private view returns (bool) {
        return m.status == ModelStatus.Live && m.computeProvider != address(0)
            && workerRegistry.isActiveWorker(m.computeProvider);
    }

    function _model(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.status == ModelStatus.None) revert UnknownModel(modelId);
    }

    function _ownedModel(uint256 modelId) private view returns (Model storage m) {
        m = _model(modelId);
        if (m.owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
    }

    function _job(uint256 jobId) private view returns (Job storage job) {
        job = _jobs[jobId];
        if (job.status == JobStatus.None) revert UnknownJob(jobId);
    }

    function _challengedJob(uint256 jobId) private view returns (Job storage job) {
        job = _job(jobId);
        if (job.status != JobStatus.Challenged) revert InvalidJobStatus(jobId, job.status);
    }

    /// @dev The job must be Claimed by the caller (expired or not: callers check expiry themselves).
    function _leaseHolderJob(uint256 jobId) private view returns (Job storage job) {
        job = _job(jobId);
        if (job.status != JobStatus.Claimed) revert InvalidJobStatus(jobId, job.status);
        if (job.worker != msg.sender) revert NotLeaseHolder(jobId, msg.sender);
    }
}
