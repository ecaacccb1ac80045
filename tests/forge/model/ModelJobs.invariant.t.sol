// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {ModelFixtures} from "../utils/ModelFixtures.sol";
import {ModelRegistry} from "../../../contracts/model/ModelRegistry.sol";
import {WorkerRegistry} from "../../../contracts/model/WorkerRegistry.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";

/// @notice Drives the whole job lifecycle (bounties, leases, challenges with bonds, slashing, payouts)
///         across two models, three workers and two challengers. The handler holds GOVERNANCE_ROLE.
contract ModelJobsHandler is Test {
    OpenToken internal token;
    ModelRegistry internal models;
    WorkerRegistry internal workers;
    address[] internal requesters;
    address[] internal workerList;
    address[] internal challengers;
    uint256 internal modelCount;

    uint256 public ghostBountiesIn;
    uint256 public ghostBondsIn;
    uint256 public ghostSlashedIn;
    uint256 public ghostWithdrawn;
    uint256 public ghostRefunded;
    /// @notice Successful transitions by kind (probe with a temporary `assertEq(hits("finalize"), 0)`
    ///         invariant to check that runs reach deep states).
    mapping(bytes32 => uint256) public hits;

    constructor(
        OpenToken token_,
        ModelRegistry models_,
        WorkerRegistry workers_,
        address[] memory requesters_,
        address[] memory workers__,
        address[] memory challengers_,
        uint256 modelCount_
    ) {
        token = token_;
        models = models_;
        workers = workers_;
        requesters = requesters_;
        workerList = workers__;
        challengers = challengers_;
        modelCount = modelCount_;
    }

    /// @dev A job in `status` found from a seeded start (0 when none).
    function _job(uint256 seed, IModelRegistry.JobStatus status) internal view returns (uint256) {
        uint256 n = models.jobCount();
        for (uint256 k = 0; k < n; k++) {
            uint256 id = (seed + k) % n + 1;
            if (models.getJob(id).status == status) return id;
        }
        return 0;
    }

    function requestTraining(uint256 seed, uint256 bounty) external {
        address r = requesters[seed % requesters.length];
        bounty = bound(bounty, 1, 100 ether);
        vm.prank(r);
        models.requestTraining(seed % modelCount + 1, bounty);
        ghostBountiesIn += bounty;
    }

    function cancelJob(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Open);
        if (id == 0) id = _job(seed, IModelRegistry.JobStatus.Claimed);
        if (id == 0) return;
        IModelRegistry.Job memory job = models.getJob(id);
        vm.prank(job.requester);
        models.cancelJob(id);
        hits["cancel"]++;
        ghostRefunded += job.bounty;
    }

    function claimJob(uint256 seed, uint256 workerSeed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Open);
        if (id == 0) id = _job(seed, IModelRegistry.JobStatus.Claimed); // succeeds only once expired
        if (id == 0) return;
        vm.prank(workerList[workerSeed % workerList.length]);
        models.claimJob(id);
        hits["claim"]++;
    }

    function renewLease(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Claimed);
        if (id == 0) return;
        vm.prank(models.getJob(id).worker);
        models.renewLease(id);
        hits["renew"]++;
    }

    function releaseJob(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Claimed);
        if (id == 0) return;
        vm.prank(models.getJob(id).worker);
        models.releaseJob(id);
        hits["release"]++;
    }

    function submitResult(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Claimed);
        if (id == 0) return;
        vm.prank(models.getJob(id).worker);
        models.submitResult(id, "bafyadapter", "bafymetrics", keccak256(abi.encode(seed)), "bafyreport");
        hits["submit"]++;
    }

    function challengeResult(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Submitted);
        if (id == 0) return;
        uint256 bond = models.challengeBond();
        vm.prank(challengers[seed % challengers.length]);
        models.challengeResult(id, "bafyreason");
        hits["challenge"]++;
        ghostBondsIn += bond;
    }

    function resolveChallenge(uint256 seed, bool upheld) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Challenged);
        if (id == 0) return;
        uint256 before = token.balanceOf(address(workers));
        models.resolveChallenge(id, upheld);
        if (upheld) hits["upheld"]++;
        else hits["rejected"]++;
        ghostSlashedIn += before - token.balanceOf(address(workers));
    }

    function finalize(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Submitted);
        if (id == 0) return;
        models.finalize(id);
        hits["finalize"]++;
    }

    function withdraw(uint256 seed) external {
        address[] memory all = allAccounts();
        address a = all[seed % all.length];
        uint256 amount = models.credited(a);
        if (amount == 0) return;
        models.withdrawFor(a);
        ghostWithdrawn += amount;
    }

    function setParams(uint256 bond, uint256 slashAmount, uint16 bps) external {
        models.setChallengeBond(bound(bond, 1, 200 ether));
        models.setSlashAmount(bound(slashAmount, 1, 300 ether));
        models.setChallengerRewardBps(uint16(bound(bps, 0, 10_000)));
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 2 days));
    }

    /// @dev Slashed workers top their stake back up so they keep claiming.
    function topUp(uint256 seed) external {
        address w = workerList[seed % workerList.length];
        (uint256 stake,,,,) = workers.getWorker(w);
        uint256 minimum = workers.minWorkerStake();
        if (stake >= minimum) return;
        vm.prank(w);
        workers.addStake(minimum - stake);
    }

    function allAccounts() public view returns (address[] memory all) {
        all = new address[](requesters.length + workerList.length + challengers.length + 1);
        uint256 k;
        for (uint256 i = 0; i < requesters.length; i++) {
            all[k++] = requesters[i];
        }
        for (uint256 i = 0; i < workerList.length; i++) {
            all[k++] = workerList[i];
        }
        for (uint256 i = 0; i < challengers.length; i++) {
            all[k++] = challengers[i];
        }
        all[k] = models.treasury();
    }

    function workerAccounts() external view returns (address[] memory) {
        return workerList;
    }
}

contract ModelJobsInvariantTest is StdInvariant, ModelFixtures {
    ModelJobsHandler internal handler;
    address internal worker3 = makeAddr("worker3");
    address internal challenger2 = makeAddr("challenger2");

    function setUp() public override {
        super.setUp();
        _fund(worker3);
        _fund(challenger2);
        _registerWorker(worker);
        _registerWorker(worker2);
        vm.prank(worker3);
        workers.registerWorker(STAKE * 3, "http://w3");
        _registerModel();
        vm.prank(stranger);
        models.registerModel(DATANET, 2, "base2", "bafyspec2", PRICE);

        address[] memory requesters = new address[](2);
        requesters[0] = modelOwner;
        requesters[1] = stranger;
        address[] memory ws = new address[](3);
        ws[0] = worker;
        ws[1] = worker2;
        ws[2] = worker3;
        address[] memory cs = new address[](2);
        cs[0] = challenger;
        cs[1] = challenger2;
        handler = new ModelJobsHandler(token, models, workers, requesters, ws, cs, 2);
        bytes32 role = models.GOVERNANCE_ROLE();
        vm.prank(gov);
        models.grantRole(role, address(handler));

        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](14);
        s[0] = ModelJobsHandler.requestTraining.selector;
        s[1] = ModelJobsHandler.cancelJob.selector;
        s[2] = ModelJobsHandler.claimJob.selector;
        s[3] = ModelJobsHandler.renewLease.selector;
        s[4] = ModelJobsHandler.releaseJob.selector;
        s[5] = ModelJobsHandler.submitResult.selector;
        s[6] = ModelJobsHandler.challengeResult.selector;
        s[7] = ModelJobsHandler.resolveChallenge.selector;
        s[8] = ModelJobsHandler.finalize.selector;
        s[9] = ModelJobsHandler.withdraw.selector;
        s[10] = ModelJobsHandler.setParams.selector;
        s[11] = ModelJobsHandler.warp.selector;
        s[12] = ModelJobsHandler.claimJob.selector; // claims weigh double: they open most paths
        s[13] = ModelJobsHandler.topUp.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: s}));
    }

    function _held(IModelRegistry.JobStatus s) internal pure returns (bool) {
        return s == IModelRegistry.JobStatus.Claimed || s == IModelRegistry.JobStatus.Submitted
            || s == IModelRegistry.JobStatus.Challenged;
    }

    /// @dev Escrowed bounties of unfinished jobs + bonds of challenged jobs + credited balances.
    function invariant_registryBalanceCoversEveryObligation() public view {
        uint256 escrow;
        for (uint256 id = 1; id <= models.jobCount(); id++) {
            IModelRegistry.Job memory job = models.getJob(id);
            if (job.status == IModelRegistry.JobStatus.Open || _held(job.status)) escrow += job.bounty;
            if (job.status == IModelRegistry.JobStatus.Challenged) escrow += job.challengeBond;
            else assertEq(job.challengeBond, 0, "bond only while challenged");
        }
        address[] memory all = handler.allAccounts();
        uint256 credits;
        for (uint256 i = 0; i < all.length; i++) {
            credits += models.credited(all[i]);
        }
        assertEq(token.balanceOf(address(models)), escrow + credits);
    }

    /// @dev Value in = value out + value held: bounties, bonds and slashes are never created or lost.
    function invariant_flowsBalance() public view {
        uint256 inflow = handler.ghostBountiesIn() + handler.ghostBondsIn() + handler.ghostSlashedIn();
        uint256 outflow = handler.ghostRefunded() + handler.ghostWithdrawn();
        assertEq(inflow - outflow, token.balanceOf(address(models)));
    }

    /// @dev Each worker's stake is locked exactly once per job it holds (claimed/submitted/challenged).
    function invariant_locksMatchHeldJobs() public view {
        address[] memory ws = handler.workerAccounts();
        for (uint256 i = 0; i < ws.length; i++) {
            uint256 held;
            for (uint256 id = 1; id <= models.jobCount(); id++) {
                IModelRegistry.Job memory job = models.getJob(id);
                if (job.worker == ws[i] && _held(job.status)) held++;
            }
            assertEq(workers.activeLocks(ws[i]), held);
        }
    }

    function invariant_workerRegistryHoldsTheStakes() public view {
        address[] memory ws = handler.workerAccounts();
        uint256 sum;
        for (uint256 i = 0; i < ws.length; i++) {
            sum += _stakeOf(ws[i]);
        }
        assertEq(token.balanceOf(address(workers)), sum);
    }

    function invariant_supplyConserved() public view {
        address[] memory all = handler.allAccounts();
        uint256 sum = token.balanceOf(address(this)) + token.balanceOf(address(models))
            + token.balanceOf(address(workers)) + token.balanceOf(payer);
        for (uint256 i = 0; i < all.length; i++) {
            sum += token.balanceOf(all[i]);
        }
        assertEq(sum, token.totalSupply());
    }
}
