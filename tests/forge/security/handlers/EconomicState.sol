// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {OpenToken} from "../../../../contracts/token/OpenToken.sol";
import {DatanetRegistry} from "../../../../contracts/datanet/DatanetRegistry.sol";
import {WorkerRegistry} from "../../../../contracts/model/WorkerRegistry.sol";
import {ModelRegistry} from "../../../../contracts/model/ModelRegistry.sol";
import {RewardVault} from "../../../../contracts/rewards/RewardVault.sol";
import {IModelRegistry} from "../../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../../contracts/interfaces/IRewardVault.sol";
import {MerkleHelper} from "../../utils/MerkleHelper.sol";

/// @notice The deployed system, the actors and the ghost state of the economic invariant suite: which
///         roots and results are fraudulent (governance judges on them), what the attacker + colluder
///         legitimately earned, and counters of every rule the handler saw broken. Also the views the
///         invariants check (accounting identities, open collateral, the pair's wealth).
abstract contract EconomicState is CommonBase, StdCheats, StdUtils {
    struct System {
        OpenToken token;
        DatanetRegistry datanets;
        WorkerRegistry workers;
        ModelRegistry models;
        RewardVault vault;
        address gov;
        address treasury;
    }

    struct Cast {
        address modelOwner;
        address requester;
        address honest;
        address worker2;
        address attacker;
        address colluder;
        address watchtower;
        address stranger;
        address payer;
        address contributor;
        address contributor2;
        address curator;
        address datanetOwner;
    }

    struct EpochRef {
        uint256 modelId;
        uint64 epoch;
    }

    /// @dev The leaves of a posted root, to build claim proofs, and whether the root is fraudulent.
    struct RootInfo {
        bool fraudulent;
        address[] accounts;
        uint256[] amounts;
    }

    uint256 internal constant BPS = 10_000;

    OpenToken public token;
    DatanetRegistry public datanets;
    WorkerRegistry public workers;
    ModelRegistry public models;
    RewardVault public vault;
    address public gov;
    address public treasury;
    Cast internal cast;

    uint256[] internal modelIds;
    address[] internal workerSet;
    address[] internal payers;
    address[] internal everyone;

    EpochRef[] internal refs;
    mapping(uint256 modelId => mapping(uint64 epoch => bool)) internal known;
    mapping(uint256 modelId => mapping(uint64 epoch => RootInfo)) internal roots;
    mapping(uint256 jobId => bool) public fraudJob;

    // ------------------------------------------------------------------ ghosts

    /// @dev Wealth of attacker + colluder when the run started, and what they legitimately earned since
    ///      (provider shares of payments, bounties of honest results).
    uint256 public pairStart;
    uint256 public pairLegitIncome;
    /// @dev Rule breaks observed (all must stay 0).
    uint256 public unconsentedProviderChanges;
    uint256 public fraudRootsFinalized;
    uint256 public fraudResultsFinalized;
    uint256 public watchtowerMissed;
    uint256 public windowsNotReopened;
    uint256 public overcharged;
    uint256 public unapprovedJobs;
    uint256 public unauthorizedActivations;
    uint256 public inactivePosts;
    uint256 public foreignPosts;
    uint256 public failedRulings;
    uint256 public withdrawalsAheadOfSlash;
    /// @dev Provider changes the current action is allowed to make (owner consent or an upheld challenge).
    mapping(uint256 modelId => bool) internal consented;
    mapping(uint256 modelId => address) internal consentedProvider;
    /// @dev Successful actions, by name: shows which paths a run exercised (see the suite's coverage test).
    mapping(bytes32 action => uint256) public hits;

    constructor(System memory s, Cast memory c, uint256[] memory ids) {
        token = s.token;
        datanets = s.datanets;
        workers = s.workers;
        models = s.models;
        vault = s.vault;
        gov = s.gov;
        treasury = s.treasury;
        cast = c;
        modelIds = ids;
        workerSet.push(c.honest);
        workerSet.push(c.worker2);
        workerSet.push(c.attacker);
        payers.push(c.payer);
        payers.push(c.stranger);
        address[15] memory all = [
            c.modelOwner,
            c.requester,
            c.honest,
            c.worker2,
            c.attacker,
            c.colluder,
            c.watchtower,
            c.stranger,
            c.payer,
            c.contributor,
            c.contributor2,
            c.curator,
            c.datanetOwner,
            s.treasury,
            s.gov
        ];
        for (uint256 i = 0; i < all.length; i++) {
            everyone.push(all[i]);
        }
        pairStart = pairWealth();
    }

    // ------------------------------------------------------------------ provider consent (invariant a)

    modifier trackProviders() {
        address[] memory before = new address[](modelIds.length);
        for (uint256 i = 0; i < modelIds.length; i++) {
            before[i] = models.computeProviderOf(modelIds[i]);
        }
        _;
        for (uint256 i = 0; i < modelIds.length; i++) {
            uint256 id = modelIds[i];
            address current = models.computeProviderOf(id);
            if (current != before[i] && !(consented[id] && consentedProvider[id] == current)) {
                unconsentedProviderChanges++;
            }
            consented[id] = false;
        }
    }

    function _consent(uint256 id, address provider) internal {
        consented[id] = true;
        consentedProvider[id] = provider;
    }

    // ------------------------------------------------------------------ pickers

    function _model(uint256 seed) internal view returns (uint256) {
        return modelIds[seed % modelIds.length];
    }

    /// @dev First epoch ref at or after `seed` (wrapping) that is Posted, Challenged or Finalized.
    function _pickLiveEpoch(uint256 seed) internal view returns (bool found, uint256 id, uint64 epoch) {
        uint256 n = refs.length;
        for (uint256 k = 0; k < n; k++) {
            EpochRef memory r = refs[(seed % n + k) % n];
            IRewardVault.EpochStatus s = vault.getEpoch(r.modelId, r.epoch).status;
            if (s != IRewardVault.EpochStatus.None && s != IRewardVault.EpochStatus.Swept) {
                return (true, r.modelId, r.epoch);
            }
        }
    }

    /// @dev First job at or after `seed` (wrapping) that is Open, Claimed, Submitted or Challenged; with
    ///      `skipOpen`, one already claimed if there is any (so that runs push jobs through).
    function _pickLiveJob(uint256 seed, bool skipOpen) internal view returns (bool found, uint256 jobId) {
        uint256 n = models.jobCount();
        for (uint256 pass = skipOpen ? 0 : 1; pass < 2; pass++) {
            for (uint256 k = 0; k < n; k++) {
                uint256 id = (seed % n + k) % n + 1;
                IModelRegistry.JobStatus s = models.getJob(id).status;
                if (s == IModelRegistry.JobStatus.Finalized || s == IModelRegistry.JobStatus.Cancelled) continue;
                if (pass == 1 || s != IModelRegistry.JobStatus.Open) return (true, id);
            }
        }
    }

    /// @dev First Finalized job at or after `seed` (wrapping) that is not its model's live result.
    function _pickWaitingResult(uint256 seed) internal view returns (bool found, uint256 jobId) {
        uint256 n = models.jobCount();
        for (uint256 k = 0; k < n; k++) {
            uint256 id = (seed % n + k) % n + 1;
            IModelRegistry.Job memory j = models.getJob(id);
            if (j.status == IModelRegistry.JobStatus.Finalized && models.getModel(j.modelId).liveJobId != id) {
                return (true, id);
            }
        }
    }

    /// @dev A deleted epoch below nextEpoch (re-postable), else nextEpoch.
    function _postableEpoch(uint256 id) internal view returns (uint64) {
        uint64 next = vault.nextEpoch(id);
        for (uint64 e = 0; e < next; e++) {
            if (vault.getEpoch(id, e).status == IRewardVault.EpochStatus.None) return e;
        }
        return next;
    }

    function _recordRoot(uint256 id, uint64 epoch, bool fraudulent, address[] memory a, uint256[] memory v) internal {
        if (!known[id][epoch]) {
            known[id][epoch] = true;
            refs.push(EpochRef(id, epoch));
        }
        roots[id][epoch] = RootInfo(fraudulent, a, v);
    }

    function _proof(uint256 id, uint64 epoch, uint256 index) internal view returns (bytes32[] memory) {
        RootInfo storage r = roots[id][epoch];
        bytes32[] memory tree = MerkleHelper.buildTree(MerkleHelper.leaves(r.accounts, r.amounts));
        return MerkleHelper.proof(tree, MerkleHelper.leaf(index, r.accounts[index], r.amounts[index]));
    }

    function _isApproved(uint256 id, address account) internal view returns (bool) {
        return models.isApprovedRequester(id, account);
    }

    // ------------------------------------------------------------------ views for the invariants

    function refCount() external view returns (uint256) {
        return refs.length;
    }

    function refAt(uint256 i) external view returns (uint256 id, uint64 epoch, bool fraudulent) {
        EpochRef memory r = refs[i];
        return (r.modelId, r.epoch, roots[r.modelId][r.epoch].fraudulent);
    }

    function modelCount() external view returns (uint256) {
        return modelIds.length;
    }

    function modelAt(uint256 i) external view returns (uint256) {
        return modelIds[i];
    }

    function workerCount() external view returns (uint256) {
        return workerSet.length;
    }

    function workerAt(uint256 i) external view returns (address) {
        return workerSet[i];
    }

    function everyoneCount() external view returns (uint256) {
        return everyone.length;
    }

    function everyoneAt(uint256 i) external view returns (address) {
        return everyone[i];
    }

    /// @dev Collateral of `worker`'s open work: unfinalized epoch roots and held or submitted jobs.
    function openCollateral(address worker) public view returns (uint256 sum) {
        for (uint256 i = 0; i < refs.length; i++) {
            IRewardVault.Epoch memory e = vault.getEpoch(refs[i].modelId, refs[i].epoch);
            bool open = e.status == IRewardVault.EpochStatus.Posted || e.status == IRewardVault.EpochStatus.Challenged;
            if (open && e.poster == worker) sum += e.lockedStake;
        }
        uint256 n = models.jobCount();
        for (uint256 id = 1; id <= n; id++) {
            IModelRegistry.Job memory j = models.getJob(id);
            bool open = j.status == IModelRegistry.JobStatus.Claimed || j.status == IModelRegistry.JobStatus.Submitted
                || j.status == IModelRegistry.JobStatus.Challenged;
            if (open && j.worker == worker) sum += j.lockedStake;
        }
    }

    /// @dev What RewardVault must hold: credited payouts + pools (available + reserved) - what finalized,
    ///      unswept epochs already paid + bonds of open epoch challenges.
    function vaultLiabilities() public view returns (uint256 sum) {
        for (uint256 i = 0; i < everyone.length; i++) {
            sum += vault.credited(everyone[i]);
        }
        for (uint256 i = 0; i < modelIds.length; i++) {
            (uint256 available, uint256 reserved) = vault.pool(modelIds[i]);
            sum += available + reserved;
        }
        for (uint256 i = 0; i < refs.length; i++) {
            IRewardVault.Epoch memory e = vault.getEpoch(refs[i].modelId, refs[i].epoch);
            if (e.status == IRewardVault.EpochStatus.Finalized) sum -= e.claimed;
            if (e.status == IRewardVault.EpochStatus.Challenged) sum += e.dispute.bond;
        }
    }

    /// @dev What ModelRegistry must hold: credited payouts + bounties of unfinished jobs + open bonds.
    function modelLiabilities() public view returns (uint256 sum) {
        for (uint256 i = 0; i < everyone.length; i++) {
            sum += models.credited(everyone[i]);
        }
        uint256 n = models.jobCount();
        for (uint256 id = 1; id <= n; id++) {
            IModelRegistry.Job memory j = models.getJob(id);
            if (j.status == IModelRegistry.JobStatus.Finalized || j.status == IModelRegistry.JobStatus.Cancelled) {
                continue;
            }
            sum += j.bounty;
            if (j.status == IModelRegistry.JobStatus.Challenged) sum += j.dispute.bond;
        }
    }

    function totalStakes() public view returns (uint256 sum) {
        for (uint256 i = 0; i < workerSet.length; i++) {
            sum += workers.stakeOf(workerSet[i]);
        }
    }

    /// @dev attacker + colluder: wallets, credited payouts, stakes and bonds they escrowed in open disputes.
    function pairWealth() public view returns (uint256 sum) {
        address[2] memory pair = [cast.attacker, cast.colluder];
        for (uint256 i = 0; i < 2; i++) {
            address a = pair[i];
            sum += token.balanceOf(a) + vault.credited(a) + models.credited(a) + workers.stakeOf(a);
        }
        for (uint256 i = 0; i < refs.length; i++) {
            IRewardVault.Epoch memory e = vault.getEpoch(refs[i].modelId, refs[i].epoch);
            if (e.status == IRewardVault.EpochStatus.Challenged && _inPair(e.dispute.challenger)) {
                sum += e.dispute.bond;
            }
        }
        uint256 n = models.jobCount();
        for (uint256 id = 1; id <= n; id++) {
            IModelRegistry.Job memory j = models.getJob(id);
            if (j.status == IModelRegistry.JobStatus.Challenged && _inPair(j.dispute.challenger)) {
                sum += j.dispute.bond;
            }
        }
    }

    function _inPair(address a) internal view returns (bool) {
        return a == cast.attacker || a == cast.colluder;
    }
}
