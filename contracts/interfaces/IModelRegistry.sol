// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChallengeSettlement} from "./IChallengeSettlement.sol";

/// @title IModelRegistry
/// @notice Models bound to exact datanet versions, training jobs with escrowed bounties and leases,
///         challengeable results, and the live adapter of each model.
/// @dev Job lifecycle: Open -> Claimed (lease) -> Submitted -> [Challenged -> Open (upheld, lapsed) |
///      Submitted (rejected; window reopened)] -> Finalized; Open (or Claimed with an expired lease, or
///      past the job's hard deadline) -> Cancelled. A finalized job makes its model Live when the model has
///      no active provider; otherwise the owner accepts it with {activateResult}. Bounties, challenge bonds and
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
        uint64 requestedAt;
        uint64 claimedAt;
        uint64 leaseExpiresAt;
        uint64 challengeDeadline;
        uint256 lockedStake;
        Dispute dispute;
        Result result;
    }

    /// @notice Governance parameters, as returned by {params}.
    struct Params {
        uint64 leaseDuration;
        uint64 maxLeaseTime;
        uint64 jobDeadline;
        uint64 challengeWindow;
        uint64 rulingPeriod;
        uint256 challengeBond;
        uint256 slashAmount;
        uint16 challengerRewardBps;
        uint16 collateralBps;
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
    ///         `collateral` is the stake the claim locked.
    event JobClaimed(
        uint256 indexed jobId, address indexed worker, uint64 leaseExpiresAt, address previousWorker, uint256 collateral
    );
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
    event ResultChallenged(
        uint256 indexed jobId, address indexed challenger, uint256 bond, string reasonCid, uint64 rulingDeadline
    );
    /// @notice A rejected challenge reopened the window: the result can be challenged until `challengeDeadline`.
    event ChallengeWindowReopened(uint256 indexed jobId, uint64 challengeDeadline);
    /// @notice Nobody ruled on the challenge in time: the result was voided (job Open), nobody slashed,
    ///         the bond credited back to the challenger.
    event ChallengeLapsed(uint256 indexed jobId, address indexed challenger, address indexed worker, uint256 bond);
    /// @notice The job finalized while `modelId` has an active provider: its owner may activate it.
    event ResultAwaitingOwner(uint256 indexed modelId, uint256 indexed jobId, address indexed worker);
    /// @notice The model's owner approved (or disapproved) `account` to request training for it.
    event RequesterSet(uint256 indexed modelId, address indexed account, bool approved);
    /// @notice The RewardVault struck down an epoch root of `provider`: the model has no provider until its
    ///         owner activates a new result.
    event ProviderRevoked(uint256 indexed modelId, address indexed provider);
    /// @notice The RewardVault allowed to revoke providers was bound (once).
    event RewardVaultBound(address rewardVault);
    event MaxLeaseTimeSet(uint64 maxLeaseTime);
    event JobDeadlineSet(uint64 jobDeadline);
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
    /// @notice `modelId` was registered as fine-tuned from `parentModelId`, starting from the result of
    ///         the parent's job `parentJobId` (its live job then); `depth` levels below a model registered
    ///         from scratch. Emitted right after its {ModelRegistered}; the lineage never changes.
    event ModelDerived(uint256 indexed modelId, uint256 indexed parentModelId, uint256 parentJobId, uint256 depth);
    event MaxLineageDepthSet(uint8 maxLineageDepth);

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
    /// @notice Only the model's owner, or an address it approved with {setRequester}, posts training.
    error NotApprovedRequester(uint256 modelId, address caller);
    /// @notice Renewal would not extend the lease: the claim reached its cap `claimedAt + maxLeaseTime`.
    error LeaseCapReached(uint256 jobId, uint64 cap);
    /// @notice No claims after the job's hard deadline `requestedAt + jobDeadline`.
    error JobDeadlinePassed(uint256 jobId, uint64 hardDeadline);
    /// @notice The job is already the model's live result.
    error AlreadyLive(uint256 modelId, uint256 jobId);
    /// @notice Only the bound RewardVault revokes providers.
    error NotRewardVault(address caller);
    /// @notice {bindRewardVault} was already called.
    error RewardVaultAlreadyBound(address rewardVault);
    /// @notice A derived model's parent must be Live (a finalized adapter and attribution report).
    error ParentNotLive(uint256 parentModelId);
    /// @notice A derived model fine-tunes its parent's adapter: same base model.
    error BaseModelMismatch(uint256 parentModelId, string parentBaseModel, string baseModel);
    /// @notice The derived model would sit `depth` levels down, beyond `maxLineageDepth`.
    error LineageTooDeep(uint256 parentModelId, uint256 depth, uint256 maxLineageDepth);
    /// @notice {setMaxLineageDepth} above its bound.
    error LineageDepthOutOfRange(uint256 value, uint256 max);

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

    /// @notice Register a model fine-tuned from live model `parentModelId` (same base model): its training
    ///         starts from the adapter of the parent's live job, pinned now, and its epochs pay the
    ///         governance-set lineage share upward (see {IRewardVault-lineageSplit}). Set once, here: a
    ///         parent's id is always below its child's, so lineages have no cycles.
    /// @dev Anyone; the caller becomes the owner. Emits {ModelRegistered}, {ModelDerived}. Reverts as
    ///      {registerModel} and {UnknownModel}, {ParentNotLive}, {BaseModelMismatch}, {LineageTooDeep}.
    function registerDerivedModel(
        uint256 datanetId,
        uint256 versionId,
        string calldata baseModel,
        string calldata trainingSpecCid,
        uint256 pricePerInference,
        uint256 parentModelId
    ) external returns (uint256 modelId);

    /// @notice Set the price per inference request of a model.
    /// @dev Model owner. Emits {PriceSet}. Reverts {UnknownModel}, {NotModelOwner}, {ZeroAmount}.
    function setPrice(uint256 modelId, uint256 price) external;

    // ------------------------------------------------------------------ jobs

    /// @notice Approve (or disapprove) `account` to request training for `modelId`.
    /// @dev Model owner. Emits {RequesterSet}. Reverts {UnknownModel}, {NotModelOwner}, {ZeroAddress}.
    function setRequester(uint256 modelId, address account, bool approved) external;

    /// @notice Make finalized job `jobId` its model's live result: its adapter and worker replace the
    ///         current ones. This is how an owner accepts a retrained model.
    /// @dev Model owner. Emits {ModelLive}. Reverts {UnknownJob}, {NotModelOwner}, {InvalidJobStatus},
    ///      {AlreadyLive}.
    function activateResult(uint256 jobId) external;

    /// @notice Remove `provider` as `modelId`'s compute provider (if it still is) and remember it: its
    ///         later results for this model never go live by themselves, only by the owner's
    ///         {activateResult}.
    /// @dev The bound RewardVault, when a challenge against `provider`'s epoch root is upheld. Emits
    ///      {ProviderRevoked}. Reverts {NotRewardVault}.
    function revokeProvider(uint256 modelId, address provider) external;

    /// @notice Bind the RewardVault that may revoke providers; callable once.
    /// @dev DEFAULT_ADMIN_ROLE. Emits {RewardVaultBound}. Reverts {RewardVaultAlreadyBound}, {ZeroAddress}.
    function bindRewardVault(address vault) external;

    // ------------------------------------------------------------------ jobs

    /// @notice Post a training job for `modelId`, escrowing `bounty` tokens from the caller.
    /// @dev Model owner or an approved requester. Emits {TrainingRequested}. Reverts {UnknownModel},
    ///      {NotApprovedRequester}, {ZeroAmount}.
    function requestTraining(uint256 modelId, uint256 bounty) external returns (uint256 jobId);

    /// @notice Cancel a job nobody finished: Open, or Claimed with an expired lease, or Claimed past the
    ///         job's hard deadline (requestedAt + jobDeadline) whatever the lease; bounty back.
    /// @dev Requester. Emits {JobCancelled}. Reverts {UnknownJob}, {NotRequester}, {InvalidJobStatus},
    ///      {LeaseStillActive}.
    function cancelJob(uint256 jobId) external;

    /// @notice Take a lease on a job: Open, or Claimed with an expired lease, before its hard deadline.
    ///         Locks collateralBps of the bounty from the worker's free stake.
    /// @dev Active worker. Emits {JobClaimed}. Reverts {UnknownJob}, {NotActiveWorker}, {JobDeadlinePassed},
    ///      {InvalidJobStatus}, {LeaseStillActive}, {IWorkerRegistry-InsufficientFreeStake}.
    function claimJob(uint256 jobId) external;

    /// @notice Extend the caller's lease to now + leaseDuration, never past claimedAt + maxLeaseTime.
    /// @dev Lease holder, still an active worker, before expiry. Emits {LeaseRenewed}. Reverts
    ///      {UnknownJob}, {InvalidJobStatus}, {NotLeaseHolder}, {NotActiveWorker}, {LeaseExpired},
    ///      {LeaseCapReached}.
    function renewLease(uint256 jobId) external;

    /// @notice Give up the lease (also after expiry): the job is Open again and the stake lock released.
    /// @dev Lease holder. Emits {JobReleased}. Reverts {UnknownJob}, {InvalidJobStatus}, {NotLeaseHolder}.
    function releaseJob(uint256 jobId) external;

    /// @notice Post the trained adapter, metrics and attribution root; opens the challenge window.
    /// @dev Lease holder before expiry, still an active worker. Emits {ResultSubmitted}. Reverts
    ///      {UnknownJob}, {InvalidJobStatus}, {NotLeaseHolder}, {LeaseExpired}, {NotActiveWorker}, {EmptyField}.
    function submitResult(
        uint256 jobId,
        string calldata adapterCid,
        string calldata metricsCid,
        bytes32 attributionRoot,
        string calldata reportCid
    ) external;

    /// @notice Dispute a submitted result, escrowing the current challenge bond from the caller.
    ///         The challenge is judged on the result, not on the reason given.
    /// @dev Anyone, Submitted and now <= challengeDeadline. Emits {ResultChallenged}. Reverts
    ///      {UnknownJob}, {InvalidJobStatus}, {ChallengeWindowClosed}, {EmptyField} ("reasonCid").
    function challengeResult(uint256 jobId, string calldata reasonCid) external;

    /// @notice Judge a challenge (also after its ruling deadline, until someone lapses it). Upheld: worker
    ///         slashed max(slashAmount, collateral) capped by its unlocked stake, challenger credited bond +
    ///         slashed * challengerRewardBps / 10_000, treasury the rest; job Open, result cleared.
    ///         Rejected: bond credited to the treasury; job Submitted, window reopened for a full window.
    /// @dev GOVERNANCE_ROLE. Emits {ChallengeResolved}, {Credited}, {ChallengeWindowReopened}. Reverts
    ///      {UnknownJob}, {InvalidJobStatus}.
    function resolveChallenge(uint256 jobId, bool upheld) external;

    /// @notice Default outcome of a challenge nobody ruled on by its ruling deadline: result voided (job
    ///         Open, collateral released, nobody slashed), bond credited back to the challenger.
    /// @dev Anyone. Emits {ChallengeLapsed}, {Credited}. Reverts {UnknownJob}, {InvalidJobStatus},
    ///      {RulingPeriodActive}.
    function lapseChallenge(uint256 jobId) external;

    /// @notice After the challenge window: bounty credited to the worker and collateral released; the
    ///         model goes Live with this adapter if it has no active provider and the worker is not one
    ///         it revoked, else the owner decides.
    /// @dev Anyone, Submitted and now > challengeDeadline. Emits {JobFinalized}, {Credited}, and {ModelLive}
    ///      or {ResultAwaitingOwner}. Reverts {UnknownJob}, {InvalidJobStatus}, {ChallengeWindowOpen}.
    function finalize(uint256 jobId) external;

    // ------------------------------------------------------------------ governance

    /// @notice Set the lease length in seconds (1 .. MAX_WINDOW).
    /// @dev GOVERNANCE_ROLE. Emits {LeaseDurationSet}. Reverts {WindowOutOfRange}.
    function setLeaseDuration(uint64 leaseDuration) external;

    /// @notice Set the longest time one claim may be held, renewals included (1 .. MAX_WINDOW).
    /// @dev GOVERNANCE_ROLE. Emits {MaxLeaseTimeSet}. Reverts {WindowOutOfRange}.
    function setMaxLeaseTime(uint64 maxLeaseTime) external;

    /// @notice Set the hard deadline of jobs, in seconds after their request (1 .. MAX_WINDOW).
    /// @dev GOVERNANCE_ROLE. Emits {JobDeadlineSet}. Reverts {WindowOutOfRange}.
    function setJobDeadline(uint64 jobDeadline) external;

    /// @notice Set how many levels a lineage may have (0 .. MAX_LINEAGE_DEPTH): new derived models deeper
    ///         than this are refused, and epochs pay no ancestor beyond it.
    /// @dev GOVERNANCE_ROLE. Emits {MaxLineageDepthSet}. Reverts {LineageDepthOutOfRange}.
    function setMaxLineageDepth(uint8 value) external;

    // ------------------------------------------------------------------ views

    /// @notice The parent of `modelId`, the parent's job it starts from and its depth (zeros: not derived).
    function lineageOf(uint256 modelId)
        external
        view
        returns (uint256 parentModelId, uint256 parentJobId, uint256 depth);

    /// @notice The ancestors `modelId`'s epochs pay (parent first) and the job of each whose attribution
    ///         report pays it, at most `maxLineageDepth` of them.
    function ancestorsOf(uint256 modelId) external view returns (uint256[] memory models, uint256[] memory jobs);

    /// @notice Governance bound on lineage depth.
    function maxLineageDepth() external view returns (uint8);

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

    /// @notice Whether `account` was revoked as `modelId`'s provider and not re-accepted by the owner since.
    function isRevokedProvider(uint256 modelId, address account) external view returns (bool);

    /// @notice Whether `account` may request training for `modelId` (its owner or approved).
    function isApprovedRequester(uint256 modelId, address account) external view returns (bool);

    /// @notice What RewardVault needs to bill a model, without its strings (zeros for unknown ids).
    ///         `servable`: Live with a compute provider that is still an active worker.
    function paymentTerms(uint256 modelId)
        external
        view
        returns (bool servable, uint256 pricePerInference, address owner, address computeProvider);

    /// @notice The RewardVault allowed to revoke providers (0 until bound).
    function rewardVault() external view returns (address);

    /// @notice Worker whose adapter is live for `modelId` (set only when Live; 0 otherwise).
    function computeProviderOf(uint256 modelId) external view returns (address);

    /// @notice Current governance parameters.
    function params() external view returns (Params memory);
}
