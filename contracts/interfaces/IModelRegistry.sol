// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChallengeSettlement} from "./IChallengeSettlement.sol";

/// @title IModelRegistry
/// @notice Models bound to exact datanet versions, training jobs with escrowed bounties and leases,
///         challengeable results, and the live adapter of each model.
/// @dev Job lifecycle: Open -> Claimed (lease) -> Submitted -> [Challenged -> Open | Submitted] ->
///      Finalized; Open (or Claimed with an expired lease) -> Cancelled. Bounties, challenge bonds and
///      payouts are token wei; payouts are credited and pulled with {withdraw}. Challenge parameters,
///      payouts and their events/errors are shared with RewardVault: see {IChallengeSettlement}.
interface IModelRegistry is IChallengeSettlement {
    // ------------------------------------------------------------------ types

    enum ModelStatus {
        None,
        Registered,
        Live
    }

    enum JobStatus {
        None,
        Open,
        Claimed,
        Submitted,
        Challenged,
        Finalized,
        Cancelled
    }

    struct Model {
        address owner;
        uint256 datanetId;
        uint256 versionId;
        string baseModel;
        string trainingSpecCid;
        uint256 pricePerInference;
        ModelStatus status;
        uint256 liveJobId;
        address computeProvider;
        string adapterCid;
    }

    struct Result {
        string adapterCid;
        string metricsCid;
        bytes32 attributionRoot;
        string reportCid;
        uint64 submittedAt;
    }

    struct Job {
        uint256 modelId;
        address requester;
        uint256 bounty;
        JobStatus status;
        address worker;
        uint64 leaseExpiresAt;
        uint64 challengeDeadline;
        address challenger;
        uint256 challengeBond;
        string challengeReasonCid;
        Result result;
    }

    /// @notice Governance parameters, as returned by {params}.
    struct Params {
        uint64 leaseDuration;
        uint64 challengeWindow;
        uint256 challengeBond;
        uint256 slashAmount;
        uint16 challengerRewardBps;
        address treasury;
    }

    // ------------------------------------------------------------------ events

    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        uint256 indexed datanetId,
        uint256 versionId,
        string baseModel,
        string trainingSpecCid,
        uint256 pricePerInference
    );
    event PriceSet(uint256 indexed modelId, uint256 price);
    event TrainingRequested(uint256 indexed jobId, uint256 indexed modelId, address indexed requester, uint256 bounty);
    /// @notice `worker` is the lease holder whose expired lease was dropped (0 when the job was Open).
    event JobCancelled(uint256 indexed jobId, address indexed requester, uint256 refund, address worker);
    /// @notice `previousWorker` is the holder of the expired lease taken over (0 when the job was Open).
    event JobClaimed(uint256 indexed jobId, address indexed worker, uint64 leaseExpiresAt, address previousWorker);
    event LeaseRenewed(uint256 indexed jobId, address indexed worker, uint64 leaseExpiresAt);
    event JobReleased(uint256 indexed jobId, address indexed worker);
    event ResultSubmitted(
        uint256 indexed jobId,
        address indexed worker,
        string adapterCid,
        string metricsCid,
        bytes32 attributionRoot,
        string reportCid,
        uint64 challengeDeadline
    );
    event ResultChallenged(uint256 indexed jobId, address indexed challenger, uint256 bond, string reasonCid);
    /// @notice upheld: job back to Open and result cleared; `slashed` taken from `worker`, challenger got
    ///         `challengerPayout` (bond + reward), treasury `treasuryPayout`. Rejected: the bond
    ///         (`treasuryPayout`) went to the treasury and the job is Submitted again.
    event ChallengeResolved(
        uint256 indexed jobId,
        bool upheld,
        address indexed challenger,
        address indexed worker,
        uint256 slashed,
        uint256 challengerPayout,
        uint256 treasuryPayout
    );
    event JobFinalized(uint256 indexed jobId, uint256 indexed modelId, address indexed worker, uint256 bounty);
    event ModelLive(uint256 indexed modelId, uint256 indexed jobId, address indexed computeProvider, string adapterCid);
    event LeaseDurationSet(uint64 leaseDuration);

    // ------------------------------------------------------------------ errors

    /// @notice A required string or hash argument (`field`) was empty.
    error EmptyField(string field);
    error UnknownModel(uint256 modelId);
    error UnknownJob(uint256 jobId);
    /// @notice `versionId` is not a published version of `datanetId` (1 <= versionId <= versionCount).
    error UnknownVersion(uint256 datanetId, uint256 versionId);
    error NotModelOwner(uint256 modelId, address caller);
    error NotRequester(uint256 jobId, address caller);
    error NotLeaseHolder(uint256 jobId, address caller);
    error NotActiveWorker(address caller);
    /// @notice The job is in `status`, which does not allow the call.
    error InvalidJobStatus(uint256 jobId, JobStatus status);
    /// @notice Claim/cancel of a Claimed job whose lease runs until `leaseExpiresAt`.
    error LeaseStillActive(uint256 jobId, uint64 leaseExpiresAt);
    /// @notice Renew/submit after the lease ended at `leaseExpiresAt`.
    error LeaseExpired(uint256 jobId, uint64 leaseExpiresAt);
    error ChallengeWindowClosed(uint256 jobId, uint64 challengeDeadline);
    error ChallengeWindowOpen(uint256 jobId, uint64 challengeDeadline);

    // ------------------------------------------------------------------ models

    /// @notice Register a model trained from version `versionId` of datanet `datanetId`.
    /// @dev Anyone; the caller becomes the owner. Emits {ModelRegistered}. Reverts {UnknownVersion},
    ///      {EmptyField} ("baseModel", "trainingSpecCid"), {ZeroAmount} (price).
    function registerModel(
        uint256 datanetId,
        uint256 versionId,
        string calldata baseModel,
        string calldata trainingSpecCid,
        uint256 pricePerInference
    ) external returns (uint256 modelId);

    /// @notice Set the price per inference request of a model.
    /// @dev Model owner. Emits {PriceSet}. Reverts {UnknownModel}, {NotModelOwner}, {ZeroAmount}.
    function setPrice(uint256 modelId, uint256 price) external;

    // ------------------------------------------------------------------ jobs

    /// @notice Post a training job for `modelId`, escrowing `bounty` tokens from the caller.
    /// @dev Anyone (usually the owner). Emits {TrainingRequested}. Reverts {UnknownModel}, {ZeroAmount}.
    function requestTraining(uint256 modelId, uint256 bounty) external returns (uint256 jobId);

    /// @notice Cancel a job nobody works on (Open, or Claimed with an expired lease); bounty back.
    /// @dev Requester. Emits {JobCancelled}. Reverts {UnknownJob}, {NotRequester}, {InvalidJobStatus},
    ///      {LeaseStillActive}.
    function cancelJob(uint256 jobId) external;

    /// @notice Take a lease on a job: Open, or Claimed with an expired lease. Locks the worker's stake.
    /// @dev Active worker. Emits {JobClaimed}. Reverts {UnknownJob}, {NotActiveWorker},
    ///      {InvalidJobStatus}, {LeaseStillActive}.
    function claimJob(uint256 jobId) external;

    /// @notice Extend the caller's lease to now + leaseDuration.
    /// @dev Lease holder, still an active worker, before expiry. Emits {LeaseRenewed}. Reverts
    ///      {UnknownJob}, {InvalidJobStatus}, {NotLeaseHolder}, {NotActiveWorker}, {LeaseExpired}.
    function renewLease(uint256 jobId) external;

    /// @notice Give up the lease (also after expiry): the job is Open again and the stake lock released.
    /// @dev Lease holder. Emits {JobReleased}. Reverts {UnknownJob}, {InvalidJobStatus}, {NotLeaseHolder}.
    function releaseJob(uint256 jobId) external;

    /// @notice Post the trained adapter, metrics and attribution root; opens the challenge window.
    /// @dev Lease holder before expiry. Emits {ResultSubmitted}. Reverts {UnknownJob},
    ///      {InvalidJobStatus}, {NotLeaseHolder}, {LeaseExpired}, {EmptyField}.
    function submitResult(
        uint256 jobId,
        string calldata adapterCid,
        string calldata metricsCid,
        bytes32 attributionRoot,
        string calldata reportCid
    ) external;

    /// @notice Dispute a submitted result, escrowing the current challenge bond from the caller.
    /// @dev Anyone, Submitted and now <= challengeDeadline. Emits {ResultChallenged}. Reverts
    ///      {UnknownJob}, {InvalidJobStatus}, {ChallengeWindowClosed}, {EmptyField} ("reasonCid").
    function challengeResult(uint256 jobId, string calldata reasonCid) external;

    /// @notice Judge a challenge. Upheld: worker slashed (min(slashAmount, stake)), challenger credited
    ///         bond + slashed * challengerRewardBps / 10_000, treasury the rest; job Open, result cleared.
    ///         Rejected: bond credited to the treasury; job Submitted with the same deadline.
    /// @dev GOVERNANCE_ROLE. Emits {ChallengeResolved}, {Credited}. Reverts {UnknownJob}, {InvalidJobStatus}.
    function resolveChallenge(uint256 jobId, bool upheld) external;

    /// @notice After the challenge window: bounty credited to the worker, model Live with this adapter.
    /// @dev Anyone, Submitted and now > challengeDeadline. Emits {JobFinalized}, {ModelLive}, {Credited}.
    ///      Reverts {UnknownJob}, {InvalidJobStatus}, {ChallengeWindowOpen}.
    function finalize(uint256 jobId) external;

    // ------------------------------------------------------------------ governance

    /// @notice Set the lease length in seconds (1 .. MAX_WINDOW).
    /// @dev GOVERNANCE_ROLE. Emits {LeaseDurationSet}. Reverts {WindowOutOfRange}.
    function setLeaseDuration(uint64 leaseDuration) external;

    // ------------------------------------------------------------------ views

    /// @notice Model `modelId`. Reverts {UnknownModel}.
    function getModel(uint256 modelId) external view returns (Model memory);

    /// @notice Job `jobId`. Reverts {UnknownJob}.
    function getJob(uint256 jobId) external view returns (Job memory);

    /// @notice Number of models (ids are 1..modelCount).
    function modelCount() external view returns (uint256);

    /// @notice Number of jobs (ids are 1..jobCount).
    function jobCount() external view returns (uint256);

    /// @notice Whether `modelId` has a finalized adapter (false for unknown ids).
    function isLive(uint256 modelId) external view returns (bool);

    /// @notice What RewardVault needs to bill a model, without its strings (zeros for unknown ids).
    function paymentTerms(uint256 modelId)
        external
        view
        returns (bool live, uint256 pricePerInference, address owner, address computeProvider);

    /// @notice Worker whose adapter is live for `modelId` (set only when Live; 0 otherwise).
    function computeProviderOf(uint256 modelId) external view returns (address);

    /// @notice Current governance parameters.
    function params() external view returns (Params memory);
}
