// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IDatanetVersions} from "../interfaces/IDatanetVersions.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title ModelRegistry
/// @notice Models bound to exact datanet versions and the training jobs that make them live. Holds
///         job bounties and challenge bonds; payouts are credited and withdrawn (pull payments).
/// @dev Needs SLASHER_ROLE on the WorkerRegistry: it locks a worker's stake from claim to finalization
///      (or release / upheld challenge) and slashes it when a challenge is upheld.
contract ModelRegistry is IModelRegistry, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    /// @notice Upper bound for lease and challenge windows.
    uint64 public constant MAX_WINDOW = 365 days;
    uint256 private constant BPS = 10_000;

    IERC20 public immutable token;
    IDatanetVersions public immutable datanetRegistry;
    IWorkerRegistry public immutable workerRegistry;

    uint64 public leaseDuration = 1 days;
    uint64 public challengeWindow = 1 days;
    uint256 public challengeBond = 100 ether;
    uint256 public slashAmount = 100 ether;
    uint16 public challengerRewardBps = 5_000;
    address public treasury;

    /// @inheritdoc IModelRegistry
    uint256 public modelCount;
    /// @inheritdoc IModelRegistry
    uint256 public jobCount;
    /// @inheritdoc IModelRegistry
    mapping(address account => uint256) public credited;

    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 jobId => Job) private _jobs;

    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNANCE_ROLE (the timelock in deployments).
    constructor(
        IERC20 token_,
        IDatanetVersions datanetRegistry_,
        IWorkerRegistry workerRegistry_,
        address treasury_,
        address admin
    ) {
        if (
            address(token_) == address(0) || address(datanetRegistry_) == address(0)
                || address(workerRegistry_) == address(0) || treasury_ == address(0) || admin == address(0)
        ) revert ZeroAddress();
        token = token_;
        datanetRegistry = datanetRegistry_;
        workerRegistry = workerRegistry_;
        treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNANCE_ROLE, admin);
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
        uint256 stake = workerRegistry.stakeOf(worker);
        uint256 slashed = slashAmount < stake ? slashAmount : stake;
        uint256 reward = slashed * challengerRewardBps / BPS;
        job.status = JobStatus.Open;
        job.worker = address(0);
        job.leaseExpiresAt = 0;
        job.challengeDeadline = 0;
        delete job.result;
        _credit(challenger, bond + reward);
        if (slashed > reward) _credit(treasury, slashed - reward);
        emit ChallengeResolved(jobId, true, challenger, worker, slashed, bond + reward, slashed - reward);
        if (slashed != 0) workerRegistry.slash(worker, slashed, address(this));
        workerRegistry.unlock(worker);
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

    // ------------------------------------------------------------------ payouts

    /// @inheritdoc IModelRegistry
    function withdraw() external nonReentrant {
        _withdraw(msg.sender);
    }

    /// @inheritdoc IModelRegistry
    function withdrawFor(address account) external nonReentrant {
        _withdraw(account);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IModelRegistry
    function setLeaseDuration(uint64 value) external onlyRole(GOVERNANCE_ROLE) {
        _checkWindow(value);
        leaseDuration = value;
        emit LeaseDurationSet(value);
    }

    /// @inheritdoc IModelRegistry
    function setChallengeWindow(uint64 value) external onlyRole(GOVERNANCE_ROLE) {
        _checkWindow(value);
        challengeWindow = value;
        emit ChallengeWindowSet(value);
    }

    /// @inheritdoc IModelRegistry
    function setChallengeBond(uint256 value) external onlyRole(GOVERNANCE_ROLE) {
        if (value == 0) revert ZeroAmount();
        challengeBond = value;
        emit ChallengeBondSet(value);
    }

    /// @inheritdoc IModelRegistry
    function setSlashAmount(uint256 value) external onlyRole(GOVERNANCE_ROLE) {
        if (value == 0) revert ZeroAmount();
        slashAmount = value;
        emit SlashAmountSet(value);
    }

    /// @inheritdoc IModelRegistry
    function setChallengerRewardBps(uint16 value) external onlyRole(GOVERNANCE_ROLE) {
        if (value > BPS) revert BpsOutOfRange(value);
        challengerRewardBps = value;
        emit ChallengerRewardBpsSet(value);
    }

    /// @inheritdoc IModelRegistry
    function setTreasury(address value) external onlyRole(GOVERNANCE_ROLE) {
        if (value == address(0)) revert ZeroAddress();
        treasury = value;
        emit TreasurySet(value);
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

    function _credit(address account, uint256 amount) private {
        uint256 balance = credited[account] + amount;
        credited[account] = balance;
        emit Credited(account, amount, balance);
    }

    function _withdraw(address account) private {
        uint256 amount = credited[account];
        if (amount == 0) revert NothingToWithdraw(account);
        credited[account] = 0;
        emit Withdrawn(account, amount);
        token.safeTransfer(account, amount);
    }

    function _checkWindow(uint64 value) private pure {
        if (value == 0 || value > MAX_WINDOW) revert WindowOutOfRange(value, MAX_WINDOW);
    }
}
