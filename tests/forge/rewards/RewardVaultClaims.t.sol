// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {MerkleHelper} from "../utils/MerkleHelper.sol";
import {VaultFixtures} from "../utils/VaultFixtures.sol";

/// @notice Merkle claims against finalized epochs: payout by leaf index (once per index, bitmap), proofs,
///         epoch totals, the claim period and sweeping the unclaimed rest back to the pool.
contract RewardVaultClaimsTest is VaultFixtures {
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address[] internal accounts;
    uint256[] internal amounts;
    uint256 internal poolBalance;

    function setUp() public override {
        super.setUp();
        poolBalance = _pay(200); // 100 OPEN in the pool
        accounts = [alice, bob, carol];
        amounts = [uint256(5 ether), 3 ether, 2 ether];
        vm.prank(worker);
        workers.addStake(100 ether); // collateral for epochs up to the whole pool (1.5x)
    }

    function _claim(uint64 epoch, uint256 index, address account, uint256 amount, bytes32[] memory proof) internal {
        vm.prank(stranger);
        vault.claim(modelId, epoch, index, account, amount, proof);
    }

    function _claimLeaf(bytes32[] memory tree, uint64 epoch, uint256 index) internal {
        _claim(epoch, index, accounts[index], amounts[index], _proof(tree, index, accounts[index], amounts[index]));
    }

    function _pool() internal view returns (uint256 available, uint256 reserved) {
        return vault.pool(modelId);
    }

    // ------------------------------------------------------------------ claim

    function test_claim_paysEveryLeafOnce() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        uint256 vaultBefore = token.balanceOf(address(vault));
        for (uint256 i = 0; i < accounts.length; i++) {
            assertFalse(vault.isClaimed(modelId, 0, i));
            vm.expectEmit(address(vault));
            emit IRewardVault.Claimed(modelId, 0, i, accounts[i], amounts[i]);
            _claimLeaf(tree, 0, i);
            assertEq(token.balanceOf(accounts[i]), amounts[i]);
            assertTrue(vault.isClaimed(modelId, 0, i));
        }
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(e.claimed, 10 ether);
        assertEq(token.balanceOf(address(vault)), vaultBefore - 10 ether);
        assertEq(token.balanceOf(stranger), FUNDS, "the caller gets nothing");
        // Claims draw on the epoch: the pool's figures do not move.
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, poolBalance - 10 ether);
        assertEq(reserved, 10 ether);
    }

    function test_claim_singleLeafTreeWithEmptyProof() public {
        address[] memory one = new address[](1);
        uint256[] memory amt = new uint256[](1);
        one[0] = alice;
        amt[0] = 7 ether;
        bytes32[] memory tree = _finalizedEpoch(0, one, amt, 7 ether);
        assertEq(tree.length, 1);
        _claim(0, 0, alice, 7 ether, new bytes32[](0));
        assertEq(token.balanceOf(alice), 7 ether);
    }

    function test_claim_revertsOnDoubleClaim() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        bytes32[] memory proof = _proof(tree, 1, bob, 3 ether);
        _claim(0, 1, bob, 3 ether, proof);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.AlreadyClaimed.selector, modelId, 0, 1));
        _claim(0, 1, bob, 3 ether, proof);
        assertEq(token.balanceOf(bob), 3 ether);
    }

    /// @dev The index is the leaf's identity: the same (account, amount) twice in one epoch is two leaves,
    ///      each paid once.
    function test_claim_sameAccountAndAmountAtTwoIndices() public {
        address[] memory accs = new address[](3);
        uint256[] memory amts = new uint256[](3);
        (accs[0], accs[1], accs[2]) = (alice, bob, alice);
        (amts[0], amts[1], amts[2]) = (uint256(4 ether), 1 ether, 4 ether);
        bytes32[] memory tree = _finalizedEpoch(0, accs, amts, 9 ether);
        _claim(0, 0, alice, 4 ether, _proof(tree, 0, alice, 4 ether));
        assertFalse(vault.isClaimed(modelId, 0, 2));
        _claim(0, 2, alice, 4 ether, _proof(tree, 2, alice, 4 ether));
        assertEq(token.balanceOf(alice), 8 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.AlreadyClaimed.selector, modelId, 0, 2));
        _claim(0, 2, alice, 4 ether, _proof(tree, 2, alice, 4 ether));
        // A leaf's proof does not pay under another index.
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, 1, alice, 4 ether));
        _claim(0, 1, alice, 4 ether, _proof(tree, 0, alice, 4 ether));
    }

    /// @dev The bitmap works across its 256-bit words: indices need not be contiguous.
    function test_claim_bitmapAcrossWords() public {
        bytes32[] memory leaves = new bytes32[](3);
        leaves[0] = MerkleHelper.leaf(255, alice, 1 ether);
        leaves[1] = MerkleHelper.leaf(256, bob, 2 ether);
        leaves[2] = MerkleHelper.leaf(1_000_000, carol, 3 ether);
        bytes32[] memory tree = MerkleHelper.buildTree(leaves);
        _post(0, tree[0], 6 ether);
        vm.warp(block.timestamp + WINDOW + 1);
        vault.finalizeEpoch(modelId, 0);
        _claim(0, 256, bob, 2 ether, MerkleHelper.proof(tree, leaves[1]));
        assertTrue(vault.isClaimed(modelId, 0, 256));
        assertFalse(vault.isClaimed(modelId, 0, 255));
        assertFalse(vault.isClaimed(modelId, 0, 257));
        assertFalse(vault.isClaimed(modelId, 0, 0));
        _claim(0, 255, alice, 1 ether, MerkleHelper.proof(tree, leaves[0]));
        _claim(0, 1_000_000, carol, 3 ether, MerkleHelper.proof(tree, leaves[2]));
        assertTrue(vault.isClaimed(modelId, 0, 255));
        assertTrue(vault.isClaimed(modelId, 0, 1_000_000));
        assertEq(vault.getEpoch(modelId, 0).claimed, 6 ether);
    }

    function test_claim_revertsOnWrongProofAmountAccountOrIndex() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        bytes32[] memory proof = _proof(tree, 1, bob, 3 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, 1, bob, 4 ether));
        _claim(0, 1, bob, 4 ether, proof);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, 1, stranger, 3 ether));
        _claim(0, 1, stranger, 3 ether, proof);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, 2, bob, 3 ether));
        _claim(0, 2, bob, 3 ether, proof);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, 1, bob, 3 ether));
        _claim(0, 1, bob, 3 ether, _proof(tree, 0, alice, 5 ether));
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, 1, bob, 3 ether));
        _claim(0, 1, bob, 3 ether, new bytes32[](0));
        // A failed claim marks nothing.
        assertFalse(vault.isClaimed(modelId, 0, 1));
        assertFalse(vault.isClaimed(modelId, 0, 2));
        _claim(0, 1, bob, 3 ether, proof);
    }

    function test_claim_revertsForAnotherEpochOrModel() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        address[] memory other = new address[](1);
        uint256[] memory amt = new uint256[](1);
        other[0] = carol;
        amt[0] = 1 ether;
        _finalizedEpoch(1, other, amt, 1 ether);
        bytes32[] memory proof = _proof(tree, 0, alice, 5 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 1, 0, alice, 5 ether));
        _claim(1, 0, alice, 5 ether, proof);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardVault.InvalidEpochStatus.selector, modelId + 1, 0, IRewardVault.EpochStatus.None
            )
        );
        vault.claim(modelId + 1, 0, 0, alice, 5 ether, proof);
    }

    function test_claim_revertsBeforeFinalization() public {
        bytes32[] memory tree = MerkleHelper.buildTree(MerkleHelper.leaves(accounts, amounts));
        _post(0, tree[0], 10 ether);
        bytes32[] memory proof = _proof(tree, 0, alice, 5 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.Posted
            )
        );
        _claim(0, 0, alice, 5 ether, proof);
        vm.prank(challenger);
        vault.challengeEpoch(modelId, 0, "bafyreason");
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.Challenged
            )
        );
        _claim(0, 0, alice, 5 ether, proof);
        // Upheld: the epoch is gone and its leaves can never be claimed.
        vm.prank(gov);
        vault.resolveEpochChallenge(modelId, 0, true);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.None)
        );
        _claim(0, 0, alice, 5 ether, proof);
    }

    /// @dev A zero amount is refused outright; an account not in the root (address(0) included) has no proof.
    function test_claim_revertsOnZeroAmountOrUnknownAccount() public {
        _finalizedEpoch(0, accounts, amounts, 10 ether);
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        _claim(0, 0, alice, 0, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, 0, address(0), 1 ether));
        _claim(0, 0, address(0), 1 ether, new bytes32[](0));
    }

    /// @dev A root whose leaves add up to more than its declared total: claims stop at the total.
    function test_claim_revertsWhenEpochTotalWouldBeExceeded() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 8 ether);
        _claimLeaf(tree, 0, 0);
        _claimLeaf(tree, 0, 1);
        bytes32[] memory proof = _proof(tree, 2, carol, 2 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.EpochTotalExceeded.selector, modelId, 0, 8 ether, 2 ether, 8 ether)
        );
        _claim(0, 2, carol, 2 ether, proof);
        assertFalse(vault.isClaimed(modelId, 0, 2));
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, poolBalance - 8 ether);
        assertEq(reserved, 8 ether);
    }

    function test_claim_sameAccountInTwoEpochs() public {
        bytes32[] memory t0 = _finalizedEpoch(0, accounts, amounts, 10 ether);
        bytes32[] memory t1 = _finalizedEpoch(1, accounts, amounts, 10 ether);
        _claimLeaf(t0, 0, 0);
        _claimLeaf(t1, 1, 0);
        assertEq(token.balanceOf(alice), 10 ether);
        assertFalse(vault.isClaimed(modelId, 0, 1));
        assertTrue(vault.isClaimed(modelId, 1, 0));
    }

    // ------------------------------------------------------------------ claim period

    function test_claim_untilClaimDeadlineThenClaimPeriodOver() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        uint64 claimDeadline = vault.getEpoch(modelId, 0).deadline;
        assertEq(claimDeadline, block.timestamp + CLAIM_PERIOD);
        vm.warp(claimDeadline); // the deadline second itself is still in
        _claimLeaf(tree, 0, 0);
        vm.warp(claimDeadline + 1);
        bytes32[] memory proof = _proof(tree, 1, bob, 3 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ClaimPeriodOver.selector, modelId, 0, claimDeadline));
        _claim(0, 1, bob, 3 ether, proof);
        assertEq(token.balanceOf(bob), 0);
    }

    function test_setClaimPeriod_appliesToEpochsFinalizedLater() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        vm.expectEmit(address(vault));
        emit IRewardVault.ClaimPeriodSet(1 days);
        vm.prank(gov);
        vault.setClaimPeriod(1 days);
        assertEq(vault.claimPeriod(), 1 days);
        _finalizedEpoch(1, accounts, amounts, 10 ether);
        assertEq(vault.getEpoch(modelId, 1).deadline, block.timestamp + 1 days);
        assertGt(vault.getEpoch(modelId, 0).deadline, block.timestamp + 1 days, "epoch 0 keeps its period");
        vm.warp(block.timestamp + 1 days + 1);
        _claimLeaf(tree, 0, 0);
    }

    function test_setClaimPeriod_revertsOutOfRangeOrForNonGovernance() public {
        uint64 maxWindow = vault.MAX_WINDOW();
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, 0, maxWindow));
        vault.setClaimPeriod(0);
        vm.expectRevert(
            abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, maxWindow + 1, maxWindow)
        );
        vault.setClaimPeriod(maxWindow + 1);
        vault.setClaimPeriod(maxWindow);
        vm.stopPrank();
        assertEq(vault.claimPeriod(), maxWindow);
        bytes32 role = vault.GOVERNANCE_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        vault.setClaimPeriod(1 days);
    }

    // ------------------------------------------------------------------ sweepEpoch

    function test_sweepEpoch_returnsUnclaimedToAvailable() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        _claimLeaf(tree, 0, 0); // 5 claimed, 5 left
        uint64 claimDeadline = vault.getEpoch(modelId, 0).deadline;
        vm.warp(claimDeadline + 1);
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochSwept(modelId, 0, 5 ether);
        vm.prank(stranger);
        vault.sweepEpoch(modelId, 0);
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(uint8(e.status), uint8(IRewardVault.EpochStatus.Swept));
        assertEq(e.claimed, 5 ether);
        assertEq(e.total, 10 ether);
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, poolBalance - 5 ether);
        assertEq(reserved, 0);
        // Swept: no more claims, no second sweep, no repost of that epoch number.
        bytes32[] memory proof = _proof(tree, 1, bob, 3 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.Swept)
        );
        _claim(0, 1, bob, 3 ether, proof);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.Swept)
        );
        vault.sweepEpoch(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.EpochAlreadyPosted.selector, modelId, 0));
        _post(0, keccak256("again"), 1 ether);
        // The swept amount backs later epochs.
        _post(1, keccak256("next"), poolBalance - 5 ether);
    }

    function test_sweepEpoch_ofFullyClaimedEpochReturnsNothing() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        for (uint256 i = 0; i < 3; i++) {
            _claimLeaf(tree, 0, i);
        }
        vm.warp(vault.getEpoch(modelId, 0).deadline + 1);
        vm.expectEmit(address(vault));
        emit IRewardVault.EpochSwept(modelId, 0, 0);
        vault.sweepEpoch(modelId, 0);
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, poolBalance - 10 ether);
        assertEq(reserved, 0);
    }

    function test_sweepEpoch_revertsDuringClaimPeriod() public {
        _finalizedEpoch(0, accounts, amounts, 10 ether);
        uint64 claimDeadline = vault.getEpoch(modelId, 0).deadline;
        vm.warp(claimDeadline);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ClaimPeriodActive.selector, modelId, 0, claimDeadline));
        vault.sweepEpoch(modelId, 0);
    }

    function test_sweepEpoch_revertsUnlessFinalized() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.None)
        );
        vault.sweepEpoch(modelId, 0);
        _post(0, keccak256("root"), 10 ether);
        vm.warp(block.timestamp + CLAIM_PERIOD + WINDOW + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.Posted
            )
        );
        vault.sweepEpoch(modelId, 0);
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_claim_randomTrees(uint8 n, uint256 seed, uint8 pick) public {
        n = uint8(bound(n, 1, 24));
        address[] memory accs = new address[](n);
        uint256[] memory amts = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            accs[i] = address(uint160(uint256(keccak256(abi.encode(seed, i))) | 1));
            amts[i] = bound(uint256(keccak256(abi.encode(seed, i, "amount"))), 1, 4 ether);
        }
        uint256 total = _sum(amts);
        bytes32[] memory tree = _finalizedEpoch(0, accs, amts, total);
        uint256 first = uint256(pick) % n;
        // Claim every leaf starting at a random one; then each leaf is refused a second time.
        for (uint256 k = 0; k < n; k++) {
            uint256 i = (first + k) % n;
            _claim(0, i, accs[i], amts[i], _proof(tree, i, accs[i], amts[i]));
            assertEq(token.balanceOf(accs[i]), amts[i]);
            assertTrue(vault.isClaimed(modelId, 0, i));
        }
        assertEq(vault.getEpoch(modelId, 0).claimed, total);
        bytes32[] memory again = _proof(tree, first, accs[first], amts[first]);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.AlreadyClaimed.selector, modelId, 0, first));
        _claim(0, first, accs[first], amts[first], again);
        (uint256 available, uint256 reserved) = _pool();
        assertEq(available, poolBalance - total);
        assertEq(reserved, total);
    }
}
