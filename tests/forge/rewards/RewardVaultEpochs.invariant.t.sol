// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {RewardVault} from "../../../contracts/rewards/RewardVault.sol";
import {MerkleHelper} from "../utils/MerkleHelper.sol";
import {VaultFixtures} from "../utils/VaultFixtures.sol";

/// @notice Drives epochs of one live model: payments into the pool, roots (some declaring less than
///         their leaves add up to), challenges with bonds, resolutions, finalization, honest claims,
///         repeated claims and forged claims. Ghosts count every successful claim per leaf.
contract VaultEpochsHandler is Test {
    RewardVault internal vault;
    uint256 internal modelId;
    address internal payer;
    address internal poster;
    address[] internal challengers;
    address[] public contributors;

    mapping(uint64 => address[]) internal epochAccounts;
    mapping(uint64 => uint256[]) internal epochAmounts;
    mapping(uint64 => mapping(bytes32 => uint256)) public ghostLeafClaims;
    uint256 public ghostContributorsIn;
    uint256 public ghostClaimed;
    bool public doubleClaim;
    bool public forgedClaim;

    struct ClaimedLeaf {
        uint64 epoch;
        address account;
        uint256 amount;
    }

    ClaimedLeaf[] internal claimedLeaves;

    constructor(
        RewardVault vault_,
        uint256 modelId_,
        address payer_,
        address poster_,
        address[] memory challengers_,
        address[] memory contributors_
    ) {
        vault = vault_;
        modelId = modelId_;
        payer = payer_;
        poster = poster_;
        challengers = challengers_;
        contributors = contributors_;
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

    function pay(uint256 count) public {
        (uint256 before,) = vault.pool(modelId);
        vm.prank(payer);
        vault.payForInference(modelId, bound(count, 1, 100), bytes32(count));
        (uint256 afterwards,) = vault.pool(modelId);
        ghostContributorsIn += afterwards - before;
    }

    /// @dev Posts the lowest free epoch (a struck-down one, else the next) with 1..5 leaves, paying for
    ///      inferences first when the pool's unreserved balance is too small.
    function post(uint256 seed, uint256 shortfall) external {
        uint256 n = seed % contributors.length + 1;
        (uint256 balance, uint256 reserved) = vault.pool(modelId);
        if (balance - reserved < n) pay(seed);
        (balance, reserved) = vault.pool(modelId);
        uint256 available = balance - reserved;
        (uint64 e, bool freed) = _epoch(seed, IRewardVault.EpochStatus.None);
        if (!freed) e = vault.nextEpoch(modelId);
        delete epochAccounts[e];
        delete epochAmounts[e];
        uint256 sum;
        for (uint256 i = 0; i < n; i++) {
            uint256 amount = bound(uint256(keccak256(abi.encode(seed, i))), 1, available / n);
            epochAccounts[e].push(contributors[(seed + i) % contributors.length]);
            epochAmounts[e].push(amount);
            sum += amount;
        }
        // One root in three declares a total below the sum of its leaves: claims must stop at the total.
        uint256 total = seed % 3 == 0 ? sum - bound(shortfall, 0, sum - 1) : sum;
        bytes32 root = MerkleHelper.root(MerkleHelper.leaves(epochAccounts[e], epochAmounts[e]));
        vm.prank(poster);
        vault.postEpochRoot(modelId, e, root, total, "bafyreport");
    }

    function challenge(uint256 seed) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Posted);
        if (!found || block.timestamp > vault.getEpoch(modelId, e).challengeDeadline) return;
        vm.prank(challengers[seed % challengers.length]);
        vault.challengeEpoch(modelId, e, "bafyreason");
    }

    function resolve(uint256 seed, bool upheld) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Challenged);
        if (!found) return;
        vault.resolveEpochChallenge(modelId, e, upheld);
    }

    /// @dev Lets the challenge window pass when needed, then finalizes.
    function finalize(uint256 seed) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Posted);
        if (!found) return;
        uint64 deadline = vault.getEpoch(modelId, e).challengeDeadline;
        if (block.timestamp <= deadline) vm.warp(deadline + 1);
        vault.finalizeEpoch(modelId, e);
    }

    /// @dev Any leaf of a finalized epoch, claimed or not: a second success is a double claim.
    function claim(uint256 seed) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Finalized);
        if (!found) return;
        uint256 i = seed % epochAccounts[e].length;
        address account = epochAccounts[e][i];
        uint256 amount = epochAmounts[e][i];
        bytes32[] memory tree = MerkleHelper.buildTree(MerkleHelper.leaves(epochAccounts[e], epochAmounts[e]));
        bytes32 leaf = MerkleHelper.leaf(account, amount);
        vault.claim(modelId, e, account, amount, MerkleHelper.proof(tree, leaf));
        if (++ghostLeafClaims[e][leaf] > 1) doubleClaim = true;
        ghostClaimed += amount;
        claimedLeaves.push(ClaimedLeaf(e, account, amount));
    }

    /// @dev Re-claims a leaf that was already paid: must never succeed.
    function claimAgain(uint256 seed) external {
        if (claimedLeaves.length == 0) return;
        ClaimedLeaf memory c = claimedLeaves[seed % claimedLeaves.length];
        bytes32[] memory tree =
            MerkleHelper.buildTree(MerkleHelper.leaves(epochAccounts[c.epoch], epochAmounts[c.epoch]));
        bytes32 leaf = MerkleHelper.leaf(c.account, c.amount);
        vault.claim(modelId, c.epoch, c.account, c.amount, MerkleHelper.proof(tree, leaf));
        doubleClaim = true;
    }

    /// @dev A real proof with a different amount or account: must never pay.
    function forgeClaim(uint256 seed, uint256 delta) external {
        (uint64 e, bool found) = _epoch(seed, IRewardVault.EpochStatus.Finalized);
        if (!found) return;
        uint256 i = seed % epochAccounts[e].length;
        bytes32[] memory tree = MerkleHelper.buildTree(MerkleHelper.leaves(epochAccounts[e], epochAmounts[e]));
        bytes32[] memory proof = MerkleHelper.proof(tree, MerkleHelper.leaf(epochAccounts[e][i], epochAmounts[e][i]));
        address account = seed % 2 == 0 ? epochAccounts[e][i] : challengers[0];
        uint256 amount = epochAmounts[e][i] + (seed % 2 == 0 ? bound(delta, 1, 1 ether) : 0);
        vault.claim(modelId, e, account, amount, proof);
        forgedClaim = true;
        ghostClaimed += amount;
    }

    function withdraw(uint256 seed) external {
        address[] memory all = creditedAccounts();
        address a = all[seed % all.length];
        if (vault.credited(a) == 0) return;
        vault.withdrawFor(a);
    }

    function setChallengeBond(uint256 bond) external {
        vault.setChallengeBond(bound(bond, 1, 200 ether));
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 2 days));
    }

    function creditedAccounts() public view returns (address[] memory all) {
        all = new address[](challengers.length + 3);
        for (uint256 i = 0; i < challengers.length; i++) {
            all[i] = challengers[i];
        }
        all[challengers.length] = vault.treasury();
        all[challengers.length + 1] = poster;
        all[challengers.length + 2] = payer;
    }

    function contributorList() external view returns (address[] memory) {
        return contributors;
    }
}

contract RewardVaultEpochsInvariantTest is StdInvariant, VaultFixtures {
    VaultEpochsHandler internal handler;
    address[] internal contributorsList;

    function setUp() public override {
        super.setUp();
        for (uint256 i = 0; i < 5; i++) {
            contributorsList.push(makeAddr(string.concat("contributor", vm.toString(i))));
        }
        address challenger2 = makeAddr("challenger2");
        _fund(challenger2);
        assertTrue(token.transfer(payer, 1_000_000 ether));
        vm.prank(worker);
        workers.addStake(1_000 ether); // the poster survives a few slashes
        address[] memory cs = new address[](2);
        cs[0] = challenger;
        cs[1] = challenger2;
        handler = new VaultEpochsHandler(vault, modelId, payer, worker, cs, contributorsList);
        vm.startPrank(gov);
        // Owner share 0: every credited account the handler withdraws for is in creditedAccounts().
        vault.setFeeSplit(IRewardVault.FeeSplit(2_000, 0, 2_000, 6_000));
        vault.grantRole(vault.GOVERNANCE_ROLE(), address(handler));
        vm.stopPrank();

        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](12);
        s[0] = VaultEpochsHandler.pay.selector;
        s[1] = VaultEpochsHandler.post.selector;
        s[2] = VaultEpochsHandler.challenge.selector;
        s[3] = VaultEpochsHandler.resolve.selector;
        s[4] = VaultEpochsHandler.finalize.selector;
        s[5] = VaultEpochsHandler.claim.selector;
        s[6] = VaultEpochsHandler.forgeClaim.selector;
        s[7] = VaultEpochsHandler.withdraw.selector;
        s[8] = VaultEpochsHandler.setChallengeBond.selector;
        s[9] = VaultEpochsHandler.warp.selector;
        s[10] = VaultEpochsHandler.claim.selector;
        s[11] = VaultEpochsHandler.claimAgain.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: s}));
    }

    function invariant_epochClaimsNeverExceedTotals() public view {
        for (uint64 e = 0; e < vault.nextEpoch(modelId); e++) {
            IRewardVault.Epoch memory ep = vault.getEpoch(modelId, e);
            assertLe(ep.claimed, ep.total);
            if (ep.status == IRewardVault.EpochStatus.None) assertEq(ep.total, 0);
            if (ep.status != IRewardVault.EpochStatus.Finalized) assertEq(ep.claimed, 0);
        }
    }

    function invariant_noLeafClaimedTwiceNoForgery() public view {
        assertFalse(handler.doubleClaim());
        assertFalse(handler.forgedClaim());
    }

    /// @dev reserved == unclaimed part of every live epoch, and never more than the pool holds.
    function invariant_reservationsMatchEpochs() public view {
        uint256 outstanding;
        for (uint64 e = 0; e < vault.nextEpoch(modelId); e++) {
            IRewardVault.Epoch memory ep = vault.getEpoch(modelId, e);
            if (ep.status != IRewardVault.EpochStatus.None) outstanding += ep.total - ep.claimed;
        }
        (uint256 balance, uint256 reserved) = vault.pool(modelId);
        assertEq(reserved, outstanding);
        assertLe(reserved, balance);
    }

    /// @dev What came into the pool = what it holds + what contributors received.
    function invariant_poolFlowsBalance() public view {
        (uint256 balance,) = vault.pool(modelId);
        assertEq(handler.ghostContributorsIn(), balance + handler.ghostClaimed());
        address[] memory cs = handler.contributorList();
        uint256 received;
        for (uint256 i = 0; i < cs.length; i++) {
            received += token.balanceOf(cs[i]);
        }
        assertEq(received, handler.ghostClaimed());
    }

    function invariant_vaultBalanceCoversCreditsPoolsAndBonds() public view {
        address[] memory all = handler.creditedAccounts();
        uint256 credits = vault.credited(modelOwner);
        for (uint256 i = 0; i < all.length; i++) {
            credits += vault.credited(all[i]);
        }
        uint256 bonds;
        for (uint64 e = 0; e < vault.nextEpoch(modelId); e++) {
            IRewardVault.Epoch memory ep = vault.getEpoch(modelId, e);
            if (ep.status == IRewardVault.EpochStatus.Challenged) bonds += ep.challengeBond;
            else assertEq(ep.challengeBond, 0);
        }
        (uint256 balance,) = vault.pool(modelId);
        assertEq(token.balanceOf(address(vault)), credits + balance + bonds);
    }

    function invariant_supplyConserved() public view {
        address[] memory all = handler.creditedAccounts();
        address[] memory cs = handler.contributorList();
        uint256 sum = token.balanceOf(address(this)) + token.balanceOf(address(vault))
            + token.balanceOf(address(models)) + token.balanceOf(address(workers)) + token.balanceOf(modelOwner)
            + token.balanceOf(worker2) + token.balanceOf(stranger);
        for (uint256 i = 0; i < all.length; i++) {
            sum += token.balanceOf(all[i]);
        }
        for (uint256 i = 0; i < cs.length; i++) {
            sum += token.balanceOf(cs[i]);
        }
        assertEq(sum, token.totalSupply());
    }
}
