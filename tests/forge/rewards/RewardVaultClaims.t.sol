// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {MerkleHelper} from "../utils/MerkleHelper.sol";
import {VaultFixtures} from "../utils/VaultFixtures.sol";

/// @notice Merkle claims against finalized epochs: payout, once per leaf, proofs, epoch totals.
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
    }

    function _claim(uint64 epoch, address account, uint256 amount, bytes32[] memory proof) internal {
        vm.prank(stranger);
        vault.claim(modelId, epoch, account, amount, proof);
    }

    function test_claim_paysEveryLeafOnce() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        for (uint256 i = 0; i < accounts.length; i++) {
            vm.expectEmit(address(vault));
            emit IRewardVault.Claimed(modelId, 0, accounts[i], amounts[i]);
            _claim(0, accounts[i], amounts[i], _proof(tree, accounts[i], amounts[i]));
            assertEq(token.balanceOf(accounts[i]), amounts[i]);
            assertTrue(vault.isClaimed(modelId, 0, accounts[i], amounts[i]));
        }
        IRewardVault.Epoch memory e = vault.getEpoch(modelId, 0);
        assertEq(e.claimed, 10 ether);
        (uint256 balance, uint256 reserved) = vault.pool(modelId);
        assertEq(balance, poolBalance - 10 ether);
        assertEq(reserved, 0);
    }

    function test_claim_singleLeafTreeWithEmptyProof() public {
        address[] memory one = new address[](1);
        uint256[] memory amt = new uint256[](1);
        one[0] = alice;
        amt[0] = 7 ether;
        bytes32[] memory tree = _finalizedEpoch(0, one, amt, 7 ether);
        assertEq(tree.length, 1);
        _claim(0, alice, 7 ether, new bytes32[](0));
        assertEq(token.balanceOf(alice), 7 ether);
    }

    function test_claim_revertsOnDoubleClaim() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        bytes32[] memory proof = _proof(tree, bob, 3 ether);
        _claim(0, bob, 3 ether, proof);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.AlreadyClaimed.selector, modelId, 0, bob, 3 ether));
        _claim(0, bob, 3 ether, proof);
    }

    function test_claim_revertsOnWrongProofAmountOrAccount() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        bytes32[] memory proof = _proof(tree, bob, 3 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, bob, 4 ether));
        _claim(0, bob, 4 ether, proof);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, stranger, 3 ether));
        _claim(0, stranger, 3 ether, proof);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, bob, 3 ether));
        _claim(0, bob, 3 ether, _proof(tree, alice, 5 ether));
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 0, bob, 3 ether));
        _claim(0, bob, 3 ether, new bytes32[](0));
    }

    function test_claim_revertsForAnotherEpochOrModel() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 10 ether);
        address[] memory other = new address[](1);
        uint256[] memory amt = new uint256[](1);
        other[0] = carol;
        amt[0] = 1 ether;
        _finalizedEpoch(1, other, amt, 1 ether);
        bytes32[] memory proof = _proof(tree, alice, 5 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.InvalidProof.selector, modelId, 1, alice, 5 ether));
        _claim(1, alice, 5 ether, proof);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardVault.InvalidEpochStatus.selector, modelId + 1, 0, IRewardVault.EpochStatus.None
            )
        );
        vault.claim(modelId + 1, 0, alice, 5 ether, proof);
    }

    function test_claim_revertsBeforeFinalization() public {
        bytes32[] memory tree = MerkleHelper.buildTree(MerkleHelper.leaves(accounts, amounts));
        _post(0, tree[0], 10 ether);
        bytes32[] memory proof = _proof(tree, alice, 5 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.Posted
            )
        );
        _claim(0, alice, 5 ether, proof);
        vm.prank(challenger);
        vault.challengeEpoch(modelId, 0, "bafyreason");
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.Challenged
            )
        );
        _claim(0, alice, 5 ether, proof);
        // Upheld: the epoch is gone and its leaves can never be claimed.
        vm.prank(gov);
        vault.resolveEpochChallenge(modelId, 0, true);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.InvalidEpochStatus.selector, modelId, 0, IRewardVault.EpochStatus.None)
        );
        _claim(0, alice, 5 ether, proof);
    }

    function test_claim_revertsOnZeroAmountOrAccount() public {
        _finalizedEpoch(0, accounts, amounts, 10 ether);
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        _claim(0, alice, 0, new bytes32[](0));
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        _claim(0, address(0), 1 ether, new bytes32[](0));
    }

    /// @dev A root whose leaves add up to more than its declared total: claims stop at the total.
    function test_claim_revertsWhenEpochTotalWouldBeExceeded() public {
        bytes32[] memory tree = _finalizedEpoch(0, accounts, amounts, 8 ether);
        _claim(0, alice, 5 ether, _proof(tree, alice, 5 ether));
        _claim(0, bob, 3 ether, _proof(tree, bob, 3 ether));
        bytes32[] memory proof = _proof(tree, carol, 2 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.EpochTotalExceeded.selector, modelId, 0, 8 ether, 2 ether, 8 ether)
        );
        _claim(0, carol, 2 ether, proof);
        (uint256 balance, uint256 reserved) = vault.pool(modelId);
        assertEq(balance, poolBalance - 8 ether);
        assertEq(reserved, 0);
    }

    function test_claim_sameAccountInTwoEpochs() public {
        bytes32[] memory t0 = _finalizedEpoch(0, accounts, amounts, 10 ether);
        bytes32[] memory t1 = _finalizedEpoch(1, accounts, amounts, 10 ether);
        _claim(0, alice, 5 ether, _proof(t0, alice, 5 ether));
        _claim(1, alice, 5 ether, _proof(t1, alice, 5 ether));
        assertEq(token.balanceOf(alice), 10 ether);
        assertFalse(vault.isClaimed(modelId, 0, bob, 3 ether));
    }

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
            _claim(0, accs[i], amts[i], _proof(tree, accs[i], amts[i]));
            assertEq(token.balanceOf(accs[i]), amts[i]);
        }
        assertEq(vault.getEpoch(modelId, 0).claimed, total);
        bytes32[] memory again = _proof(tree, accs[first], amts[first]);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardVault.AlreadyClaimed.selector, modelId, 0, accs[first], amts[first])
        );
        _claim(0, accs[first], amts[first], again);
        (uint256 balance, uint256 reserved) = vault.pool(modelId);
        assertEq(balance, poolBalance - total);
        assertEq(reserved, 0);
    }
}
