// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {ModelRegistry} from "../../../contracts/model/ModelRegistry.sol";
import {WorkerRegistry} from "../../../contracts/model/WorkerRegistry.sol";
import {RewardVault} from "../../../contracts/rewards/RewardVault.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";
import {MerkleHelper} from "../utils/MerkleHelper.sol";
import {VaultFixtures} from "../utils/VaultFixtures.sol";

/// @notice Drives epochs of one live model: payments into the pool, roots (some declaring less than
///         their leaves add up to), challenges with bonds, rulings (an upheld one revokes the provider, and
///         the owner then retrains the model), lapses, finalization, honest claims by index, repeated,
///         forged and late claims, and sweeps after the claim deadline. Ghosts count every successful
///         claim per leaf index.
contract VaultEpochsHandler is Test {
    struct Actors {
        address payer;
        address modelOwner;
        address[] trainers;
        address[] challengers;
        address[] contributors;
    }

    OpenToken internal token;
    RewardVault internal vault;
    ModelRegistry internal models;
    WorkerRegistry internal workers;
    uint256 internal modelId;
    Actors internal actors;

    mapping(uint64 epoch => address[]) internal epochAccounts;
    mapping(uint64 epoch => uint256[]) internal epochAmounts;
    mapping(uint64 epoch => mapping(uint256 index => uint256)) public ghostLeafClaims;
    mapping(uint64 epoch => uint256) public ghostEpochClaimed;
    uint256 public ghostContributorsIn;
    uint256 public ghostClaimed;
    uint256 public ghostSweptClaimed;
    bool public doubleClaim;
    bool public forgedClaim;
    bool public lateClaim;
    /// @notice Set if a ruling slashed anything but min(max(slashAmount, collateral), free + collateral)
    ///         when upheld (so never stake backing the poster's other epochs), or anything when rejected.
    bool public wrongSlash;
    mapping(bytes32 => uint256) public hits;

    struct ClaimedLeaf {
        uint64 epoch;
        uint256 index;
    }

    ClaimedLeaf[] internal claimedLeaves;

    constructor(RewardVault vault_, uint256 modelId_, Actors memory actors_) {
        vault = vault_;
        token = OpenToken(address(vault_.token()));
        models = ModelRegistry(address(vault_.modelRegistry()));
        workers = WorkerRegistry(address(vault_.workerRegistry()));
        modelId = modelId_;
        actors = actors_;
    }

    /// @dev An epoch below nextEpoch in `status`, from a seeded start; `found` false when none.
    function _epoch(uint256 seed, IRewardVault.EpochStatus status) internal view returns (uint64 e, bool found) {
        uint64 n = vault.nextEpoch(modelId);
        for (uint64 k = 0; k < n; k++) {
            e = uint64((seed + k) % n);
            if (vault.getEpoch(modelId, e).status == status) return (e, true);
        }
        return (0, false);
    }

    function _tree(uint64 e) internal view returns (bytes32[] memory) {
        return MerkleHelper.buildTree(MerkleHelper.leaves(epochAccounts[e], epochAmounts[e]));
    }

    function pay(uint256 count) public {
        (uint256 before,) = vault.pool(modelId);
        (, uint256 price,,) = models.paymentTerms(modelId);
        vm.prank(actors.payer);
        vault.payForInference(modelId, bound(count, 1, 100), price, bytes32(count));
        (uint256 afterwards,) = vault.pool(modelId);
        ghostContributorsIn += afterwards - before;
        hits["pay"]++;
    }

    // Each action works on an epoch in the state it needs; when there is none it first drives one there
    // through the earlier steps (post, challenge, finalize), so 32-call runs reach deep states.

    /// @dev Posts the lowest free epoch (a struck-down one, else the next) with 1..5 leaves, paying for
    ///      inferences first when the pool's available balance is too small. Returns the epoch posted.
    function post(uint256 seed, uint256 shortfall) public returns (uint64 e) {
        address provider = models.computeProviderOf(modelId);
        if (provider == address(0)) reinstate(seed);
        provider = models.computeProviderOf(modelId);
        uint256 n = seed % actors.contributors.length + 1;
        (uint256 available,) = vault.pool(modelId);
        if (available < n) pay(seed);
        (available,) = vault.pool(modelId);
        bool freed;
        (e, freed) = _epoch(seed, IRewardVault.EpochStatus.None);
        if (!freed) e = vault.nextEpoch(modelId);
        delete epochAccounts[e];
        delete epochAmounts[e];
        uint256 sum;
        for (uint256 i = 0; i < n; i++) {
            uint256 amount = bound(uint256(keccak256(abi.encode(seed, i))), 1, available / n);
            epochAccounts[e].push(actors.contributors[(seed + i) % actors.contributors.length]);
            epochAmounts[e].push(amount);
            sum += amount;
        }
        // One root in three declares a total below the sum of its leaves: claims must stop at the total.
        uint256 total = seed % 3 == 0 ? sum - bound(shortfall, 0, sum - 1) : sum;
        vm.prank(provider);
        vault.postEpochRoot(modelId, e, _tree(e)[0], total, "bafyreport");
        hits["post"]++;
    }

    function challenge(uint256 seed) public returns (uint64 e) {
        bool found;
        (e, found) = _epoch(seed, IRewardVault.EpochStatus.Posted);
        if (!found || block.timestamp > vault.getEpoch(modelId, e).deadline) e = post(seed, seed >> 16);
        vm.prank(actors.challengers[seed % actors.challengers.length]);
        vault.challengeEpoch(modelId, e, "bafyreason");
        hits["challenge"]++;
    }

    function resolve(uint256 seed, bool upheld) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Challenged);
        if (!found) e = challenge(seed);
        IRewardVault.Epoch memory ep = vault.getEpoch(modelId, e);
        uint256 expected;
        if (upheld) {
            uint256 slashable = workers.freeStake(ep.poster) + ep.lockedStake;
            expected = vault.slashAmount() > ep.lockedStake ? vault.slashAmount() : ep.lockedStake;
            if (expected > slashable) expected = slashable;
        }
        bool otherLocks = workers.lockedStake(ep.poster) > ep.lockedStake;
        uint256 before = token.balanceOf(address(workers));
        vault.resolveEpochChallenge(modelId, e, upheld);
        uint256 slashed = before - token.balanceOf(address(workers));
        if (slashed != expected) wrongSlash = true;
        hits[upheld ? bytes32("upheld") : bytes32("rejected")]++;
        if (upheld && otherLocks) hits["upheldWithOtherLocks"]++;
    }

    /// @dev Lets the ruling period run out when needed (mostly), then lapses the challenge.
    function lapse(uint256 seed) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Challenged);
        if (!found) e = challenge(seed);
        uint64 rulingDeadline = vault.getEpoch(modelId, e).dispute.rulingDeadline;
        if (block.timestamp <= rulingDeadline && seed % 4 != 0) vm.warp(rulingDeadline + 1);
        vault.lapseEpochChallenge(modelId, e);
        hits["lapse"]++;
    }

    /// @dev Lets the challenge window pass when needed (mostly), then finalizes.
    function finalize(uint256 seed) public returns (uint64 e) {
        bool found;
        (e, found) = _epoch(seed, IRewardVault.EpochStatus.Posted);
        if (!found) e = post(seed, seed >> 16);
        uint64 deadline = vault.getEpoch(modelId, e).deadline;
        if (block.timestamp <= deadline && seed % 4 != 0) vm.warp(deadline + 1);
        vault.finalizeEpoch(modelId, e);
        hits["finalize"]++;
    }

    /// @dev Any leaf of a finalized epoch, claimed or not, in its claim period or not: a second success is
    ///      a double claim, a success after the claim deadline a late claim.
    function claim(uint256 seed) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Finalized);
        if (!found) e = finalize(seed);
        uint256 n = epochAccounts[e].length;
        uint256 i = seed % n;
        // Mostly a leaf not paid yet; one call in four any leaf (a repeat must revert).
        for (uint256 k = 0; k < n && seed % 4 != 0 && ghostLeafClaims[e][i] != 0; k++) {
            i = (i + 1) % n;
        }
        address account = epochAccounts[e][i];
        uint256 amount = epochAmounts[e][i];
        bytes32[] memory proof = MerkleHelper.proof(_tree(e), MerkleHelper.leaf(i, account, amount));
        vault.claim(modelId, e, i, account, amount, proof);
        if (++ghostLeafClaims[e][i] > 1) doubleClaim = true;
        if (block.timestamp > vault.getEpoch(modelId, e).deadline) lateClaim = true;
        ghostEpochClaimed[e] += amount;
        ghostClaimed += amount;
        claimedLeaves.push(ClaimedLeaf(e, i));
        hits["claim"]++;
    }

    /// @dev Re-claims a leaf that was already paid: must never succeed.
    function claimAgain(uint256 seed) external {
        if (claimedLeaves.length == 0) return;
        ClaimedLeaf memory c = claimedLeaves[seed % claimedLeaves.length];
        address account = epochAccounts[c.epoch][c.index];
        uint256 amount = epochAmounts[c.epoch][c.index];
        bytes32[] memory proof = MerkleHelper.proof(_tree(c.epoch), MerkleHelper.leaf(c.index, account, amount));
        vault.claim(modelId, c.epoch, c.index, account, amount, proof);
        doubleClaim = true;
    }

    /// @dev A real proof with a different amount, account or index: must never pay.
    function forgeClaim(uint256 seed, uint256 delta) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Finalized);
        if (!found) return;
        uint256 i = seed % epochAccounts[e].length;
        address account = epochAccounts[e][i];
        uint256 amount = epochAmounts[e][i];
        bytes32[] memory proof = MerkleHelper.proof(_tree(e), MerkleHelper.leaf(i, account, amount));
        uint256 kind = seed % 3;
        if (kind == 0) amount += bound(delta, 1, 1 ether);
        else if (kind == 1) account = actors.challengers[0];
        else i = i + 1 + bound(delta, 0, 1000);
        vault.claim(modelId, e, i, account, amount, proof);
        forgedClaim = true;
        ghostClaimed += amount;
    }

    /// @dev Lets the claim period run out when needed (mostly), then sweeps.
    function sweep(uint256 seed) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Finalized);
        if (!found) return;
        uint64 deadline = vault.getEpoch(modelId, e).deadline;
        if (block.timestamp <= deadline && seed % 4 != 0) vm.warp(deadline + 1);
        vault.sweepEpoch(modelId, e);
        ghostSweptClaimed += vault.getEpoch(modelId, e).claimed;
        hits["sweep"]++;
    }

    /// @dev After an upheld challenge revoked the provider: the owner has a trainer retrain the model,
    ///      which goes live with the trainer as provider.
    function reinstate(uint256 seed) public {
        if (models.computeProviderOf(modelId) != address(0)) return;
        address trainer = actors.trainers[seed % actors.trainers.length];
        vm.prank(actors.modelOwner);
        uint256 job = models.requestTraining(modelId, 1 ether);
        vm.startPrank(trainer);
        models.claimJob(job);
        models.submitResult(job, "bafyadapter", "bafymetrics", keccak256(abi.encode(seed)), "bafyreport");
        vm.stopPrank();
        vm.warp(block.timestamp + models.challengeWindow() + 1);
        models.finalize(job);
        hits["reinstate"]++;
    }

    function withdraw(uint256 seed) external {
        address[] memory all = creditedAccounts();
        address a = all[seed % all.length];
        if (vault.credited(a) == 0) return;
        vault.withdrawFor(a);
    }

    function setParams(uint256 bond, uint256 slashAmount, uint16 collateralBps) external {
        vault.setChallengeBond(bound(bond, 1, 200 ether));
        vault.setSlashAmount(bound(slashAmount, 1, 300 ether));
        vault.setCollateralBps(uint16(bound(collateralBps, 10_000, 30_000)));
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 2 days));
    }

    function creditedAccounts() public view returns (address[] memory all) {
        uint256 n = actors.challengers.length + actors.trainers.length;
        all = new address[](n + 3);
        uint256 k;
        for (uint256 i = 0; i < actors.challengers.length; i++) {
            all[k++] = actors.challengers[i];
        }
        for (uint256 i = 0; i < actors.trainers.length; i++) {
            all[k++] = actors.trainers[i];
        }
        all[k++] = vault.treasury();
        all[k++] = actors.payer;
        all[k] = actors.modelOwner;
    }

    function contributorList() external view returns (address[] memory) {
        return actors.contributors;
    }

    function trainerList() external view returns (address[] memory) {
        return actors.trainers;
    }

    function leafCount(uint64 e) external view returns (uint256) {
        return epochAccounts[e].length;
    }
}

contract RewardVaultEpochsInvariantTest is StdInvariant, VaultFixtures {
    VaultEpochsHandler internal handler;
    address internal challenger2 = makeAddr("challenger2");
    address[] internal contributorsList;

    function setUp() public override {
        super.setUp();
        for (uint256 i = 0; i < 5; i++) {
            contributorsList.push(makeAddr(string.concat("contributor", vm.toString(i))));
        }
        _fund(challenger2);
        assertTrue(token.transfer(payer, 1_000_000 ether));
        _registerWorker(worker2);
        // Both possible providers survive a slash or two and back a few open epochs, but not unboundedly
        // many: posts past the free stake revert, and slashes eat into the stake behind other epochs.
        vm.prank(worker);
        workers.addStake(150 ether);
        vm.prank(worker2);
        workers.addStake(150 ether);
        VaultEpochsHandler.Actors memory a;
        a.payer = payer;
        a.modelOwner = modelOwner;
        a.trainers = new address[](2);
        a.trainers[0] = worker;
        a.trainers[1] = worker2;
        a.challengers = new address[](2);
        a.challengers[0] = challenger;
        a.challengers[1] = challenger2;
        a.contributors = contributorsList;
        handler = new VaultEpochsHandler(vault, modelId, a);
        vm.startPrank(gov);
        // Owner share 0: the owner's vault balance stays with the bounties it pays to ModelRegistry.
        vault.setFeeSplit(IRewardVault.FeeSplit(2_000, 0, 2_000, 6_000));
        vault.setClaimPeriod(10 days); // sweeps happen within a run
        vault.grantRole(vault.GOVERNANCE_ROLE(), address(handler));
        vm.stopPrank();

        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](17);
        s[0] = VaultEpochsHandler.pay.selector;
        s[1] = VaultEpochsHandler.post.selector;
        s[2] = VaultEpochsHandler.challenge.selector;
        s[3] = VaultEpochsHandler.resolve.selector;
        s[4] = VaultEpochsHandler.finalize.selector;
        s[5] = VaultEpochsHandler.claim.selector;
        s[6] = VaultEpochsHandler.forgeClaim.selector;
        s[7] = VaultEpochsHandler.withdraw.selector;
        s[8] = VaultEpochsHandler.setParams.selector;
        s[9] = VaultEpochsHandler.warp.selector;
        s[10] = VaultEpochsHandler.claim.selector;
        s[11] = VaultEpochsHandler.claimAgain.selector;
        s[12] = VaultEpochsHandler.lapse.selector;
        s[13] = VaultEpochsHandler.sweep.selector;
        s[14] = VaultEpochsHandler.reinstate.selector;
        s[15] = VaultEpochsHandler.post.selector;
        s[16] = VaultEpochsHandler.claim.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: s}));
    }

    function _live(IRewardVault.EpochStatus s) internal pure returns (bool) {
        return s == IRewardVault.EpochStatus.Posted || s == IRewardVault.EpochStatus.Challenged
            || s == IRewardVault.EpochStatus.Finalized;
    }

    /// @dev An epoch never pays more than its total, and pays exactly what the ghosts saw it pay.
    function invariant_epochClaimsNeverExceedTotals() public view {
        for (uint64 e = 0; e < vault.nextEpoch(modelId); e++) {
            IRewardVault.Epoch memory ep = vault.getEpoch(modelId, e);
            assertLe(ep.claimed, ep.total);
            if (ep.status == IRewardVault.EpochStatus.None) {
                assertEq(ep.total, 0);
                assertEq(ep.root, bytes32(0));
                assertEq(ep.lockedStake, 0);
            }
            bool claimable =
                ep.status == IRewardVault.EpochStatus.Finalized || ep.status == IRewardVault.EpochStatus.Swept;
            if (!claimable) assertEq(ep.claimed, 0);
            else assertEq(ep.claimed, handler.ghostEpochClaimed(e));
        }
    }

    /// @dev A leaf index is never paid twice, forged leaves and late claims never pay, and the bitmap says
    ///      exactly which leaves were paid.
    function invariant_noLeafClaimedTwiceNoForgeryNoLateClaim() public view {
        assertFalse(handler.doubleClaim());
        assertFalse(handler.forgedClaim());
        assertFalse(handler.lateClaim());
        for (uint64 e = 0; e < vault.nextEpoch(modelId); e++) {
            IRewardVault.EpochStatus status = vault.getEpoch(modelId, e).status;
            if (status != IRewardVault.EpochStatus.Finalized && status != IRewardVault.EpochStatus.Swept) continue;
            for (uint256 i = 0; i < handler.leafCount(e); i++) {
                assertEq(vault.isClaimed(modelId, e, i), handler.ghostLeafClaims(e, i) == 1);
            }
        }
    }

    /// @dev reserved == the totals of the epochs not yet swept (claimed parts included).
    function invariant_reservedMatchesUnsweptEpochs() public view {
        uint256 totals;
        for (uint64 e = 0; e < vault.nextEpoch(modelId); e++) {
            IRewardVault.Epoch memory ep = vault.getEpoch(modelId, e);
            if (_live(ep.status)) totals += ep.total;
        }
        (, uint256 reserved) = vault.pool(modelId);
        assertEq(reserved, totals);
    }

    /// @dev What came into the pool = available + reserved + what swept epochs had paid out; contributors
    ///      received exactly what was claimed.
    function invariant_poolFlowsBalance() public view {
        (uint256 available, uint256 reserved) = vault.pool(modelId);
        assertEq(handler.ghostContributorsIn(), available + reserved + handler.ghostSweptClaimed());
        address[] memory cs = handler.contributorList();
        uint256 received;
        for (uint256 i = 0; i < cs.length; i++) {
            received += token.balanceOf(cs[i]);
        }
        assertEq(received, handler.ghostClaimed());
    }

    /// @dev The vault holds exactly: credited balances + open bonds + available + the unclaimed part of
    ///      every unswept epoch.
    function invariant_vaultBalanceEqualsCreditsBondsAndPool() public view {
        address[] memory all = handler.creditedAccounts();
        uint256 credits;
        for (uint256 i = 0; i < all.length; i++) {
            credits += vault.credited(all[i]);
        }
        uint256 bonds;
        uint256 claimedUnswept;
        for (uint64 e = 0; e < vault.nextEpoch(modelId); e++) {
            IRewardVault.Epoch memory ep = vault.getEpoch(modelId, e);
            if (ep.status == IRewardVault.EpochStatus.Challenged) {
                bonds += ep.dispute.bond;
                assertTrue(ep.dispute.challenger != address(0));
            } else {
                assertEq(ep.dispute.bond, 0);
                assertEq(ep.dispute.challenger, address(0));
            }
            if (_live(ep.status)) claimedUnswept += ep.claimed;
        }
        (uint256 available, uint256 reserved) = vault.pool(modelId);
        assertEq(token.balanceOf(address(vault)), credits + bonds + available + reserved - claimedUnswept);
    }

    /// @dev Each poster's locked stake is exactly the collateral of its posted or challenged epochs, never
    ///      above its stake: finalization releases it (the epoch keeps the figure as a record) and slashes
    ///      take the struck epoch's collateral and free stake only.
    function invariant_lockedStakeMatchesOpenEpochs() public view {
        address[] memory ts = handler.trainerList();
        for (uint256 t = 0; t < ts.length; t++) {
            uint256 open;
            for (uint64 e = 0; e < vault.nextEpoch(modelId); e++) {
                IRewardVault.Epoch memory ep = vault.getEpoch(modelId, e);
                bool pending =
                    ep.status == IRewardVault.EpochStatus.Posted || ep.status == IRewardVault.EpochStatus.Challenged;
                if (pending && ep.poster == ts[t]) open += ep.lockedStake;
            }
            uint256 locked = workers.lockedStake(ts[t]);
            assertLe(locked, _stakeOf(ts[t]));
            assertEq(locked, open, "locked stake != collateral of open epochs");
        }
        assertFalse(handler.wrongSlash(), "a slash other than min(max(floor, collateral), free + collateral)");
    }

    function invariant_supplyConserved() public view {
        address[] memory all = handler.creditedAccounts();
        address[] memory cs = handler.contributorList();
        uint256 sum = token.balanceOf(address(this)) + token.balanceOf(address(vault))
            + token.balanceOf(address(models)) + token.balanceOf(address(workers)) + token.balanceOf(stranger);
        for (uint256 i = 0; i < all.length; i++) {
            sum += token.balanceOf(all[i]);
        }
        for (uint256 i = 0; i < cs.length; i++) {
            sum += token.balanceOf(cs[i]);
        }
        assertEq(sum, token.totalSupply());
    }
}
