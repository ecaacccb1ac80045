// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";
import {WorkerRegistry} from "../../../contracts/model/WorkerRegistry.sol";
import {ModelRegistry} from "../../../contracts/model/ModelRegistry.sol";
import {RewardVault} from "../../../contracts/rewards/RewardVault.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {DatanetVersionsStub} from "./DatanetVersionsStub.sol";

/// @notice Shared deployment for WorkerRegistry / ModelRegistry / RewardVault tests: OPEN token, a
///         datanet stub with versions 1..2 of datanet 1, the three contracts administered by `gov` and
///         wired as in deployment (WorkerRegistry.setSlashers([ModelRegistry, RewardVault]) — override
///         {_slashers} to add more —, ModelRegistry.bindRewardVault(RewardVault)), and funded actors that
///         approved all three contracts.
abstract contract ModelFixtures is Test {
    uint256 internal constant SUPPLY = 1_000_000_000 ether;
    uint256 internal constant FUNDS = 10_000 ether;
    uint256 internal constant STAKE = 100 ether;
    uint256 internal constant BOUNTY = 50 ether;
    uint256 internal constant PRICE = 1 ether;
    uint256 internal constant DATANET = 1;
    uint64 internal constant LEASE = 1 days;
    uint64 internal constant WINDOW = 1 days;
    uint256 internal constant BOND = 100 ether;
    uint256 internal constant SLASH = 100 ether;
    /// @dev Default collateral ratio: posted work locks 1.5x the value it controls.
    uint256 internal constant COLLATERAL_BPS = 15_000;
    uint64 internal constant RULING = 7 days;
    uint64 internal constant MAX_LEASE = 3 days;
    uint64 internal constant JOB_DEADLINE = 14 days;
    uint64 internal constant CLAIM_PERIOD = 180 days;

    OpenToken internal token;
    DatanetVersionsStub internal datanets;
    WorkerRegistry internal workers;
    ModelRegistry internal models;
    RewardVault internal vault;

    address internal gov = makeAddr("gov");
    address internal treasury = makeAddr("treasury");
    address internal modelOwner = makeAddr("modelOwner");
    address internal worker = makeAddr("worker");
    address internal worker2 = makeAddr("worker2");
    address internal challenger = makeAddr("challenger");
    address internal payer = makeAddr("payer");
    address internal stranger = makeAddr("stranger");

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        token = new OpenToken(address(this), SUPPLY);
        datanets = new DatanetVersionsStub();
        datanets.setVersionCount(DATANET, 2);
        workers = new WorkerRegistry(token, gov);
        models = new ModelRegistry(token, datanets, workers, treasury, gov);
        vault = new RewardVault(token, models, workers, treasury, gov);
        vm.startPrank(gov);
        workers.setSlashers(_slashers());
        models.bindRewardVault(address(vault));
        vm.stopPrank();
        address[6] memory actors = [modelOwner, worker, worker2, challenger, payer, stranger];
        for (uint256 i = 0; i < actors.length; i++) {
            _fund(actors[i]);
        }
    }

    /// @dev The contracts given SLASHER_ROLE, once, at deployment.
    function _slashers() internal view virtual returns (address[] memory list) {
        list = new address[](2);
        list[0] = address(models);
        list[1] = address(vault);
    }

    /// @dev Stake locked by posted work controlling `value` tokens, at the current collateral ratio.
    function _collateral(uint256 value) internal view returns (uint256) {
        return value * models.collateralBps() / 10_000;
    }

    function _fund(address account) internal {
        assertTrue(token.transfer(account, FUNDS));
        vm.startPrank(account);
        token.approve(address(workers), type(uint256).max);
        token.approve(address(models), type(uint256).max);
        token.approve(address(vault), type(uint256).max);
        vm.stopPrank();
    }

    function _registerWorker(address who) internal {
        vm.prank(who);
        workers.registerWorker(STAKE, "http://worker:8080");
    }

    function _registerModel() internal returns (uint256 modelId) {
        vm.prank(modelOwner);
        modelId = models.registerModel(DATANET, 1, "minilm-l6-v2", "bafyspec", PRICE);
    }

    function _requestTraining(uint256 modelId) internal returns (uint256 jobId) {
        vm.prank(modelOwner);
        jobId = models.requestTraining(modelId, BOUNTY);
    }

    function _claim(uint256 jobId, address who) internal {
        vm.prank(who);
        models.claimJob(jobId);
    }

    function _submit(uint256 jobId, address who) internal {
        vm.prank(who);
        models.submitResult(jobId, "bafyadapter", "bafymetrics", keccak256("attribution"), "bafyreport");
    }

    /// @dev Registered model with a job Submitted by `worker` (registers the worker if needed).
    function _submittedJob() internal returns (uint256 modelId, uint256 jobId) {
        if (!workers.isActiveWorker(worker)) _registerWorker(worker);
        modelId = _registerModel();
        jobId = _requestTraining(modelId);
        _claim(jobId, worker);
        _submit(jobId, worker);
    }

    /// @dev A Live model whose compute provider is `worker`.
    function _liveModel() internal returns (uint256 modelId) {
        uint256 jobId;
        (modelId, jobId) = _submittedJob();
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(jobId);
    }

    function _jobStatus(uint256 jobId) internal view returns (IModelRegistry.JobStatus) {
        return models.getJob(jobId).status;
    }

    function _stakeOf(address who) internal view returns (uint256 stake) {
        stake = workers.stakeOf(who);
    }

    /// @dev `who` asks to exit and waits out the cooldown, yet cannot withdraw: open obligations (job
    ///      leases, unfinalized epoch roots) still lock `locked` of its stake.
    function _expectExitBlockedByLocks(address who, uint256 locked) internal {
        vm.prank(who);
        workers.requestExit();
        vm.warp(block.timestamp + workers.exitCooldown());
        vm.expectRevert(abi.encodeWithSelector(IWorkerRegistry.WorkerHasActiveLocks.selector, who, locked));
        vm.prank(who);
        workers.withdrawStake();
    }
}
