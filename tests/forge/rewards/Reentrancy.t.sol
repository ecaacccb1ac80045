// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IDatanetVersions} from "../../../contracts/interfaces/IDatanetVersions.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {ModelRegistry} from "../../../contracts/model/ModelRegistry.sol";
import {WorkerRegistry} from "../../../contracts/model/WorkerRegistry.sol";
import {RewardVault} from "../../../contracts/rewards/RewardVault.sol";
import {MerkleHelper} from "../utils/MerkleHelper.sol";
import {ReentrantToken} from "../utils/ReentrantToken.sol";
import {VaultFixtures} from "../utils/VaultFixtures.sol";

/// @notice With a token that calls back during `transfer`, every payout path refuses re-entry.
contract ReentrancyTest is VaultFixtures {
    ReentrantToken internal evil;
    RewardVault internal evilVault;

    function setUp() public override {
        super.setUp();
        evil = new ReentrantToken(address(this), 1_000_000 ether);
        evilVault = new RewardVault(evil, models, workers, treasury, gov);
        bytes32 role = workers.SLASHER_ROLE();
        vm.prank(gov);
        workers.grantRole(role, address(evilVault));
        assertTrue(evil.transfer(payer, 10_000 ether));
        vm.prank(payer);
        evil.approve(address(evilVault), type(uint256).max);
        vm.prank(payer);
        evilVault.payForInference(modelId, 100, bytes32(0));
    }

    function _expectReentrancyRevert() internal {
        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
    }

    /// @dev The token's one-shot disarm is rolled back with the reverted call: disarm explicitly.
    function _disarm() internal {
        evil.arm(address(0), "");
    }

    function test_vaultWithdrawRefusesReentry() public {
        evil.arm(address(evilVault), abi.encodeCall(IChallengeSettlement.withdrawFor, (treasury)));
        _expectReentrancyRevert();
        vm.prank(modelOwner);
        evilVault.withdraw();
        _disarm();
        // Disarmed, the same withdrawal works and pays exactly once.
        vm.prank(modelOwner);
        evilVault.withdraw();
        assertEq(evil.balanceOf(modelOwner), 20 ether);
    }

    function test_vaultClaimRefusesReentry() public {
        address[] memory accs = new address[](2);
        uint256[] memory amts = new uint256[](2);
        accs[0] = makeAddr("alice");
        accs[1] = makeAddr("bob");
        amts[0] = 10 ether;
        amts[1] = 5 ether;
        bytes32[] memory tree = MerkleHelper.buildTree(MerkleHelper.leaves(accs, amts));
        vm.prank(worker);
        evilVault.postEpochRoot(modelId, 0, tree[0], 15 ether, "bafy");
        vm.warp(block.timestamp + WINDOW + 1);
        evilVault.finalizeEpoch(modelId, 0);
        bytes32[] memory proof = MerkleHelper.proof(tree, MerkleHelper.leaf(accs[0], amts[0]));
        evil.arm(address(evilVault), abi.encodeCall(IRewardVault.claim, (modelId, 0, accs[0], amts[0], proof)));
        _expectReentrancyRevert();
        evilVault.claim(modelId, 0, accs[0], amts[0], proof);
        _disarm();
        evilVault.claim(modelId, 0, accs[0], amts[0], proof);
        assertEq(evil.balanceOf(accs[0]), 10 ether);
    }

    function test_modelRegistryPayoutsRefuseReentry() public {
        WorkerRegistry evilWorkers = new WorkerRegistry(evil, gov);
        ModelRegistry evilModels =
            new ModelRegistry(evil, IDatanetVersions(address(datanets)), evilWorkers, treasury, gov);
        bytes32 role = evilWorkers.SLASHER_ROLE();
        vm.prank(gov);
        evilWorkers.grantRole(role, address(evilModels));
        assertTrue(evil.transfer(modelOwner, 1_000 ether));
        vm.startPrank(modelOwner);
        evil.approve(address(evilModels), type(uint256).max);
        uint256 m = evilModels.registerModel(DATANET, 1, "base", "spec", 1);
        uint256 jobA = evilModels.requestTraining(m, 10 ether);
        uint256 jobB = evilModels.requestTraining(m, 10 ether);
        vm.stopPrank();
        // cancelJob re-entered through the refund transfer
        evil.arm(address(evilModels), abi.encodeCall(IModelRegistry.cancelJob, (jobB)));
        _expectReentrancyRevert();
        vm.prank(modelOwner);
        evilModels.cancelJob(jobA);
        _disarm();
        vm.prank(modelOwner);
        evilModels.cancelJob(jobA);
        assertEq(evil.balanceOf(address(evilModels)), 10 ether);
    }

    function test_workerWithdrawStakeRefusesReentry() public {
        WorkerRegistry evilWorkers = new WorkerRegistry(evil, gov);
        assertTrue(evil.transfer(worker2, 1_000 ether));
        vm.startPrank(worker2);
        evil.approve(address(evilWorkers), type(uint256).max);
        evilWorkers.registerWorker(STAKE, "http://w2");
        evilWorkers.requestExit();
        vm.stopPrank();
        vm.warp(block.timestamp + 7 days);
        evil.arm(address(evilWorkers), abi.encodeWithSignature("withdrawStake()"));
        _expectReentrancyRevert();
        vm.prank(worker2);
        evilWorkers.withdrawStake();
        _disarm();
        vm.prank(worker2);
        evilWorkers.withdrawStake();
        assertEq(evil.balanceOf(worker2), 1_000 ether);
    }
}
