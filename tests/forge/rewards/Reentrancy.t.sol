// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
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

/// @notice With a token that calls back during `transfer`, every payout path refuses re-entry. Each
///         contract set paying in the evil token is deployed and wired as in deployment (slashers fixed
///         once, vault bound once).
contract ReentrancyTest is VaultFixtures {
    ReentrantToken internal evil;
    WorkerRegistry internal evilWorkers;
    ModelRegistry internal evilModels;
    RewardVault internal evilVault;
    uint256 internal evilModel;

    function setUp() public override {
        super.setUp();
        evil = new ReentrantToken(address(this), 1_000_000 ether);
        evilWorkers = new WorkerRegistry(evil, gov);
        evilModels = new ModelRegistry(evil, IDatanetVersions(address(datanets)), evilWorkers, treasury, gov);
        evilVault = new RewardVault(evil, evilModels, evilWorkers, treasury, gov);
        address[] memory slashers = new address[](2);
        slashers[0] = address(evilModels);
        slashers[1] = address(evilVault);
        vm.startPrank(gov);
        evilWorkers.setSlashers(slashers);
        evilModels.bindRewardVault(address(evilVault));
        vm.stopPrank();
        address[3] memory actors = [payer, modelOwner, worker];
        for (uint256 i = 0; i < actors.length; i++) {
            assertTrue(evil.transfer(actors[i], 10_000 ether));
            vm.startPrank(actors[i]);
            evil.approve(address(evilWorkers), type(uint256).max);
            evil.approve(address(evilModels), type(uint256).max);
            evil.approve(address(evilVault), type(uint256).max);
            vm.stopPrank();
        }
        // A live model in the evil set, served by `worker`, with 50 in its pool.
        vm.prank(worker);
        evilWorkers.registerWorker(STAKE, "http://w");
        vm.prank(modelOwner);
        evilModel = evilModels.registerModel(DATANET, 1, "base", "spec", PRICE);
        vm.prank(modelOwner);
        uint256 job = evilModels.requestTraining(evilModel, 10 ether);
        vm.prank(worker);
        evilModels.claimJob(job);
        vm.prank(worker);
        evilModels.submitResult(job, "bafyadapter", "bafymetrics", keccak256("a"), "bafyreport");
        vm.warp(block.timestamp + WINDOW + 1);
        evilModels.finalize(job);
        vm.prank(payer);
        evilVault.payForInference(evilModel, 100, PRICE, bytes32(0));
    }

    function _expectTransientReentrancyRevert() internal {
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
    }

    /// @dev The token's one-shot disarm is rolled back with the reverted call: disarm explicitly.
    function _disarm() internal {
        evil.arm(address(0), "");
    }

    function test_vaultWithdrawRefusesReentry() public {
        evil.arm(address(evilVault), abi.encodeCall(IChallengeSettlement.withdrawFor, (treasury)));
        _expectTransientReentrancyRevert();
        vm.prank(modelOwner);
        evilVault.withdraw();
        _disarm();
        // Disarmed, the same withdrawal works and pays exactly once.
        uint256 before = evil.balanceOf(modelOwner);
        vm.prank(modelOwner);
        evilVault.withdraw();
        assertEq(evil.balanceOf(modelOwner) - before, 20 ether);
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
        evilVault.postEpochRoot(evilModel, 0, tree[0], 15 ether, "bafy");
        vm.warp(block.timestamp + WINDOW + 1);
        evilVault.finalizeEpoch(evilModel, 0);
        bytes32[] memory proof = MerkleHelper.proof(tree, MerkleHelper.leaf(0, accs[0], amts[0]));
        // Re-entering with the other leaf: the guard, not the bitmap, stops it.
        bytes32[] memory proof1 = MerkleHelper.proof(tree, MerkleHelper.leaf(1, accs[1], amts[1]));
        evil.arm(address(evilVault), abi.encodeCall(IRewardVault.claim, (evilModel, 0, 1, accs[1], amts[1], proof1)));
        _expectTransientReentrancyRevert();
        evilVault.claim(evilModel, 0, 0, accs[0], amts[0], proof);
        _disarm();
        evilVault.claim(evilModel, 0, 0, accs[0], amts[0], proof);
        assertEq(evil.balanceOf(accs[0]), 10 ether);
        assertEq(evil.balanceOf(accs[1]), 0);
        assertFalse(evilVault.isClaimed(evilModel, 0, 1));
    }

    function test_modelRegistryPayoutsRefuseReentry() public {
        vm.startPrank(modelOwner);
        uint256 jobA = evilModels.requestTraining(evilModel, 10 ether);
        uint256 jobB = evilModels.requestTraining(evilModel, 10 ether);
        vm.stopPrank();
        uint256 held = evil.balanceOf(address(evilModels));
        // cancelJob re-entered through the refund transfer
        evil.arm(address(evilModels), abi.encodeCall(IModelRegistry.cancelJob, (jobB)));
        _expectTransientReentrancyRevert();
        vm.prank(modelOwner);
        evilModels.cancelJob(jobA);
        _disarm();
        vm.prank(modelOwner);
        evilModels.cancelJob(jobA);
        assertEq(evil.balanceOf(address(evilModels)), held - 10 ether);
        // withdraw re-entered through the payout transfer
        evil.arm(address(evilModels), abi.encodeCall(IChallengeSettlement.withdrawFor, (worker)));
        _expectTransientReentrancyRevert();
        vm.prank(worker);
        evilModels.withdraw();
        _disarm();
        vm.prank(worker);
        evilModels.withdraw();
        assertEq(evilModels.credited(worker), 0);
    }

    function test_workerWithdrawStakeRefusesReentry() public {
        assertTrue(evil.transfer(worker2, 1_000 ether));
        vm.startPrank(worker2);
        evil.approve(address(evilWorkers), type(uint256).max);
        evilWorkers.registerWorker(STAKE, "http://w2");
        evilWorkers.requestExit();
        vm.stopPrank();
        vm.warp(block.timestamp + 7 days);
        evil.arm(address(evilWorkers), abi.encodeWithSignature("withdrawStake()"));
        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        vm.prank(worker2);
        evilWorkers.withdrawStake();
        _disarm();
        vm.prank(worker2);
        evilWorkers.withdrawStake();
        assertEq(evil.balanceOf(worker2), 1_000 ether);
    }
}
