// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {IModelRegistry} from "../../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../../contracts/interfaces/IRewardVault.sol";
import {ModelRegistry} from "../../../../contracts/model/ModelRegistry.sol";
import {RewardVault} from "../../../../contracts/rewards/RewardVault.sol";
import {MerkleHelper} from "../../utils/MerkleHelper.sol";

/// @notice The ghost state of the derived-models invariant suite (issue 17) and the predictions it makes:
///         a ghost model of the registry (each model's owner, base model, depth, the depth limit in force
///         at its registration, live job, parent and pinned job), the governance parameters, the epoch
///         leaves and claims, and counters of every rule {DerivedModelsHandler} saw broken. Also the
///         expected outcomes (the exact error a derivation must be refused with, the leaves the lineage
///         rule gives an epoch), the lookups the handler picks its targets with, and the views the
///         invariants read.
abstract contract DerivedModelsState is Test {
    struct Cast {
        address[] owners; // honest model owners
        address attacker;
        address[] trainers; // registered workers, never slashed here: providers stay active
        address payer;
    }

    /// @dev What the registry should hold for a model, recomputed from the handler's own calls.
    struct Ghost {
        address owner;
        uint8 base; // index into _base
        uint8 depth;
        uint8 maxAtRegistration;
        bool live;
        uint256 liveJob;
        uint256 parent;
        uint256 pinnedJob;
    }

    struct Leaf {
        uint256 modelId;
        uint64 epoch;
        uint256 index;
        address account;
        uint256 amount;
    }

    uint256 internal constant DATANET = 1;
    uint256 internal constant PRICE = 1 ether;
    uint256 internal constant BOUNTY = 1 ether;
    uint256 internal constant BPS = 10_000;

    ModelRegistry internal models;
    RewardVault internal vault;
    Cast internal cast;

    mapping(uint256 modelId => Ghost) internal ghosts;
    uint256 public ghostModelCount;
    uint8 public ghostMaxDepth;
    uint16 public ghostShareBps;
    uint8 public deepestReached;

    /// @notice Derivations that succeeded although the rules refuse them (any caller / the attacker).
    uint256 public invalidAccepted;
    uint256 public attackerInvalidSuccesses;
    /// @notice Valid derivations refused, and refusals with another error than the rules predict.
    uint256 public validRefused;
    uint256 public wrongRefusal;
    /// @notice Governance setters that accepted an out-of-range value or refused an in-range one, and
    ///         setter calls by the attacker that went through.
    uint256 public wrongGovernanceOutcome;
    uint256 public attackerGovernanceSuccesses;
    /// @notice Epochs whose lineage-rule leaves did not add up to the epoch total.
    uint256 public leafSumMismatch;
    /// @notice Claims that paid although forged, repeated or made up by the attacker.
    uint256 public badClaims;
    /// @notice An upstream amount the upstreamSplit invariant checks besides its fixed ones.
    uint256 public probeAmount;

    uint256[] internal submittedJobs; // left in their challenge window by leavePending
    Leaf[] internal leaves;
    mapping(uint256 leaf => bool) internal leafClaimed;
    mapping(uint256 modelId => mapping(uint64 epoch => address[])) internal epochAccounts;
    mapping(uint256 modelId => mapping(uint64 epoch => uint256[])) internal epochAmounts;
    mapping(address account => uint256) public ghostAllotted;
    mapping(address account => uint256) public ghostClaimed;
    mapping(bytes32 action => uint256) public hits;

    constructor(RewardVault vault_, Cast memory cast_, uint256 rootModel, address rootOwner) {
        vault = vault_;
        models = ModelRegistry(address(vault_.modelRegistry()));
        cast = cast_;
        ghostMaxDepth = models.maxLineageDepth();
        ghostShareBps = vault.lineageShareBps();
        ghostModelCount = rootModel;
        ghosts[rootModel] = Ghost(rootOwner, 0, 0, 0, true, models.getModel(rootModel).liveJobId, 0, 0);
    }

    // ------------------------------------------------------------------ views for the invariants

    function ghostOf(uint256 modelId) external view returns (Ghost memory) {
        return ghosts[modelId];
    }

    function contributorOf(uint256 modelId) public pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("contributor", modelId)))));
    }

    /// @dev Everyone the vault may credit: treasury, owners, the attacker (an owner too), providers.
    function creditedParties() public view returns (address[] memory all) {
        all = new address[](cast.owners.length + cast.trainers.length + 2);
        uint256 k;
        for (uint256 i = 0; i < cast.owners.length; i++) {
            all[k++] = cast.owners[i];
        }
        for (uint256 i = 0; i < cast.trainers.length; i++) {
            all[k++] = cast.trainers[i];
        }
        all[k++] = cast.attacker;
        all[k] = vault.treasury();
    }

    // ------------------------------------------------------------------ expected outcomes

    /// @dev The error the rules give for this derivation (empty: it must succeed), in the registry's
    ///      documented order: the parent first, then the registration's own arguments.
    function _refusal(uint256 parent, uint256 base, uint256 version) internal view returns (bytes memory) {
        if (parent == 0 || parent > ghostModelCount) {
            return abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, parent);
        }
        Ghost memory p = ghosts[parent];
        if (!p.live) return abi.encodeWithSelector(IModelRegistry.ParentNotLive.selector, parent);
        if (p.base != base) {
            return abi.encodeWithSelector(IModelRegistry.BaseModelMismatch.selector, parent, _base(p.base), _base(base));
        }
        uint256 depth = uint256(p.depth) + 1;
        if (depth > ghostMaxDepth) {
            return abi.encodeWithSelector(IModelRegistry.LineageTooDeep.selector, parent, depth, ghostMaxDepth);
        }
        if (version == 0 || version > 2) {
            return abi.encodeWithSelector(IModelRegistry.UnknownVersion.selector, DATANET, version);
        }
        return "";
    }

    function _lineageLeaves(uint256 m, uint256 total)
        internal
        returns (address[] memory accounts, uint256[] memory amounts)
    {
        (uint256[] memory ancestors,) = models.ancestorsOf(m);
        uint256 cut = ancestors.length == 0 ? 0 : total * vault.lineageShareBps() / BPS;
        (uint256[] memory ids,, uint256[] memory kept) = vault.upstreamSplit(m, cut);
        uint256 n = 1;
        for (uint256 i = 0; i < kept.length; i++) {
            if (kept[i] > 0) n++;
        }
        accounts = new address[](n);
        amounts = new uint256[](n);
        accounts[0] = contributorOf(m);
        amounts[0] = total - cut;
        uint256 sum = amounts[0];
        uint256 k = 1;
        for (uint256 i = 0; i < kept.length; i++) {
            if (kept[i] == 0) continue; // a zero leaf cannot be claimed
            accounts[k] = contributorOf(ids[i]);
            amounts[k++] = kept[i];
            sum += kept[i];
        }
        if (sum != total) leafSumMismatch++;
    }

    function _tree(uint256 m, uint64 e) internal view returns (bytes32[] memory) {
        return MerkleHelper.buildTree(MerkleHelper.leaves(epochAccounts[m][e], epochAmounts[m][e]));
    }

    function _proof(Leaf memory l) internal view returns (bytes32[] memory) {
        return MerkleHelper.proof(_tree(l.modelId, l.epoch), MerkleHelper.leaf(l.index, l.account, l.amount));
    }

    // ------------------------------------------------------------------ lookups

    /// @dev A leaf, claimed or not as asked, from a seeded start; type(uint256).max when none.
    function _leafFrom(uint256 seed, bool claimed) internal view returns (uint256) {
        uint256 n = leaves.length;
        for (uint256 i = 0; i < n; i++) {
            uint256 k = (seed % n + i) % n;
            if (leafClaimed[k] == claimed) return k;
        }
        return type(uint256).max;
    }

    /// @dev A claimed leaf whose amount fits in what its epoch has not paid yet (else any claimed leaf);
    ///      type(uint256).max when none.
    function _replayable(uint256 seed) internal view returns (uint256 any) {
        any = type(uint256).max;
        uint256 n = leaves.length;
        for (uint256 i = 0; i < n; i++) {
            uint256 k = (seed % n + i) % n;
            if (!leafClaimed[k]) continue;
            Leaf memory l = leaves[k];
            IRewardVault.Epoch memory e = vault.getEpoch(l.modelId, l.epoch);
            if (e.total - e.claimed >= l.amount) return k;
            if (any == type(uint256).max) any = k;
        }
    }

    /// @dev A model from a seeded start, live or not as asked, at depth exactly `depth` (any: type max).
    function _find(uint256 seed, bool live, uint8 depth) internal view returns (uint256) {
        uint256 n = ghostModelCount;
        for (uint256 k = 0; k < n; k++) {
            uint256 id = (seed % n + k) % n + 1;
            Ghost memory g = ghosts[id];
            if (g.live == live && (depth == type(uint8).max || g.depth == depth)) return id;
        }
        return 0;
    }

    /// @dev A live model below the depth limit (the deepest such when `deepest`); 0 when none.
    function _validParent(uint256 seed, bool deepest) internal view returns (uint256 best) {
        uint256 n = ghostModelCount;
        for (uint256 k = 0; k < n; k++) {
            uint256 id = (seed % n + k) % n + 1;
            Ghost memory g = ghosts[id];
            if (!g.live || g.depth >= ghostMaxDepth) continue;
            if (!deepest) return id;
            if (best == 0 || g.depth > ghosts[best].depth) best = id;
        }
    }

    function _actor(uint256 seed) internal view returns (address) {
        uint256 k = seed % 3;
        return k == 2 ? cast.attacker : cast.owners[k % cast.owners.length];
    }

    /// @dev 0, 1: the base models honest owners use; 2: one no plain model uses.
    function _base(uint256 i) internal pure returns (string memory) {
        return i == 0 ? "minilm-l6-v2" : i == 1 ? "base2" : "evil-base";
    }
}
