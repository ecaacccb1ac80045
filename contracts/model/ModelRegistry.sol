// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ChallengeSettlement} from "../common/ChallengeSettlement.sol";
import {IDatanetVersions} from "../interfaces/IDatanetVersions.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title ModelRegistry
/// @notice Models bound to exact datanet versions and the training jobs that make them live. Holds
///         job bounties and challenge bonds; payouts are credited and withdrawn (pull payments).
/// @dev Needs SLASHER_ROLE on the WorkerRegistry: it locks a worker's stake from claim to finalization
///      (or release / upheld challenge) and slashes it when a challenge is upheld. Challenge parameters,
///      payouts and the upheld-challenge settlement come from {ChallengeSettlement}.
contract ModelRegistry is IModelRegistry, ChallengeSettlement {
    using SafeERC20 for IERC20;

    IDatanetVersions public immutable datanetRegistry;

    uint64 public leaseDuration = 1 days;

    /// @inheritdoc IModelRegistry
    uint256 public modelCount;
    /// @inheritdoc IModelRegistry
    uint256 public jobCount;

    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 jobId => Job) private _jobs;

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

    /// @inheritdoc IModelRegistry
    function setPrice(uint256 modelId, uint256 price) external {
        Model storage m = _model(modelId);
        if (m.owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
        if (price == 0) revert ZeroAmount();
        m.pricePerInference = price;
        emit PriceSet(modelId, price);
    }

    // ------------------------------------------------------------------ jobs

    /// @inheritdoc IModelRegistry
    function requestTraining(uint256 modelId, uint256 bounty) external nonReentrant returns (uint256 jobId) {
        _model(modelId);
        if (bounty == 0) revert ZeroAmount();
        jobId = ++jobCount;
        Job storage job = _jobs[jobId];
        job.modelId = modelId;
        job.requester = msg.sender;
        job.bounty = bounty;
        job.status = JobStatus.Open;
        emit TrainingRequested(jobId, modelId, msg.sender, bounty);
        token.safeTransferFrom(msg.sender, address(this), bounty);
    }

    /// @inheritdoc IModelRegistry
    function cancelJob(uint256 jobId) external nonReentrant {
        Job storage job = _job(jobId);
        if (job.requester != msg.sender) revert NotRequester(jobId, msg.sender);
        address worker = job.worker;
        if (job.status == JobStatus.Claimed) {
            if (block.timestamp <= job.leaseExpiresAt) revert LeaseStillActive(jobId, job.leaseExpiresAt);
        } else if (job.status != JobStatus.Open) {
            revert InvalidJobStatus(jobId, job.status);
        }
        uint256 refund = job.bounty;
        job.status = JobStatus.Cancelled;
        job.bounty = 0;
        job.worker = address(0);
        job.leaseExpiresAt = 0;
        emit JobCancelled(jobId, msg.sender, refund, worker);
        if (worker != address(0)) workerRegistry.unlock(worker);
        token.safeTransfer(msg.sender, refund);
    }

    /// @inheritdoc IModelRegistry
    function claimJob(uint256 jobId) external {
        Job storage job = _job(jobId);
        if (!workerRegistry.isActiveWorker(msg.sender)) revert NotActiveWorker(msg.sender);
        address previous = job.worker;
        if (job.status == JobStatus.Claimed) {
            if (block.timestamp <= job.leaseExpiresAt) revert LeaseStillActive(jobId, job.leaseExpiresAt);
        } else if (job.status != JobStatus.Open) {
            revert InvalidJobStatus(jobId, job.status);
        }
        uint64 expiresAt = uint64(block.timestamp) + leaseDuration;
        job.status = JobStatus.Claimed;
        job.worker = msg.sender;
        job.leaseExpiresAt = expiresAt;
        emit JobClaimed(jobId, msg.sender, expiresAt, previous);
        if (previous != address(0)) workerRegistry.unlock(previous);
        workerRegistry.lock(msg.sender);
    }

    /// @inheritdoc IModelRegistry
    function renewLease(uint256 jobId) external {
        Job storage job = _leaseHolderJob(jobId);
        if (!workerRegistry.isActiveWorker(msg.sender)) revert NotActiveWorker(msg.sender);
        if (block.timestamp > job.leaseExpiresAt) revert LeaseExpired(jobId, job.leaseExpiresAt);
        uint64 expiresAt = uint64(block.timestamp) + leaseDuration;
        job.leaseExpiresAt = expiresAt;
        emit LeaseRenewed(jobId, msg.sender, expiresAt);
    }

    /// @inheritdoc IModelRegistry
    function releaseJob(uint256 jobId) external {
        Job storage job = _leaseHolderJob(jobId);
        job.status = JobStatus.Open;
        job.worker = address(0);
        job.leaseExpiresAt = 0;
        emit JobReleased(jobId, msg.sender);
        workerRegistry.unlock(msg.sender);
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
        uint256 bond = challengeBond;
        job.status = JobStatus.Challenged;
        job.challenger = msg.sender;
        job.challengeBond = bond;
        job.challengeReasonCid = reasonCid;
        emit ResultChallenged(jobId, msg.sender, bond, reasonCid);
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IModelRegistry
    function resolveChallenge(uint256 jobId, bool upheld) external onlyRole(GOVERNANCE_ROLE) nonReentrant {
        Job storage job = _job(jobId);
        if (job.status != JobStatus.Challenged) revert InvalidJobStatus(jobId, job.status);
        address worker = job.worker;
        address challenger = job.challenger;
        uint256 bond = job.challengeBond;
        job.challenger = address(0);
        job.challengeBond = 0;
        job.challengeReasonCid = "";
        if (!upheld) {
            job.status = JobStatus.Submitted;
            _credit(treasury, bond);
            emit ChallengeResolved(jobId, false, challenger, worker, 0, 0, bond);
            return;
        }
        job.status = JobStatus.Open;
        job.worker = address(0);
        job.leaseExpiresAt = 0;
        job.challengeDeadline = 0;
        delete job.result;
        (uint256 slashed, uint256 challengerPayout, uint256 treasuryPayout) = _creditUpheld(worker, challenger, bond);
        emit ChallengeResolved(jobId, true, challenger, worker, slashed, challengerPayout, treasuryPayout);
        _slashAndUnlock(worker, slashed);
    }

    /// @inheritdoc IModelRegistry
    function finalize(uint256 jobId) external {
        Job storage job = _job(jobId);
        if (job.status != JobStatus.Submitted) revert InvalidJobStatus(jobId, job.status);
        if (block.timestamp <= job.challengeDeadline) revert ChallengeWindowOpen(jobId, job.challengeDeadline);
        address worker = job.worker;
        uint256 modelId = job.modelId;
        uint256 bounty = job.bounty;
        job.status = JobStatus.Finalized;
        Model storage m = _models[modelId];
        m.status = ModelStatus.Live;
        m.liveJobId = jobId;
        m.computeProvider = worker;
        m.adapterCid = job.result.adapterCid;
        _credit(worker, bounty);
        emit JobFinalized(jobId, modelId, worker, bounty);
        emit ModelLive(modelId, jobId, worker, m.adapterCid);
        workerRegistry.unlock(worker);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IModelRegistry
    function setLeaseDuration(uint64 value) external onlyRole(GOVERNANCE_ROLE) {
        _checkWindow(value);
        leaseDuration = value;
        emit LeaseDurationSet(value);
    }

    // ------------------------------------------------------------------ views

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
    function paymentTerms(uint256 modelId)
        external
        view
        returns (bool live, uint256 pricePerInference, address owner, address computeProvider)
    {
        Model storage m = _models[modelId];
        return (m.status == ModelStatus.Live, m.pricePerInference, m.owner, m.computeProvider);
    }

    /// @inheritdoc IModelRegistry
    function computeProviderOf(uint256 modelId) external view returns (address) {
        return _models[modelId].computeProvider;
    }

    /// @inheritdoc IModelRegistry
    function params() external view returns (Params memory) {
        return Params(leaseDuration, challengeWindow, challengeBond, slashAmount, challengerRewardBps, treasury);
    }

    // ------------------------------------------------------------------ internals

    function _model(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.status == ModelStatus.None) revert UnknownModel(modelId);
    }

    function _job(uint256 jobId) private view returns (Job storage job) {
        job = _jobs[jobId];
        if (job.status == JobStatus.None) revert UnknownJob(jobId);
    }

    /// @dev The job must be Claimed by the caller (expired or not: callers check expiry themselves).
    function _leaseHolderJob(uint256 jobId) private view returns (Job storage job) {
        job = _job(jobId);
        if (job.status != JobStatus.Claimed) revert InvalidJobStatus(jobId, job.status);
        if (job.worker != msg.sender) revert NotLeaseHolder(jobId, msg.sender);
    }
}
