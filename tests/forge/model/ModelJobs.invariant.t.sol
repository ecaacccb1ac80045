// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {ModelFixtures} from "../utils/ModelFixtures.sol";
import {ModelRegistry} from "../../../contracts/model/ModelRegistry.sol";
import {WorkerRegistry} from "../../../contracts/model/WorkerRegistry.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";

/// @notice Drives the whole job lifecycle (bounties, collateral locks, leases, challenges with bonds,
///         rulings, lapses, slashing, payouts, activation) across two models, three workers and two
///         challengers, plus requests from an address nobody approved. The handler holds GOVERNANCE_ROLE.
contract ModelJobsHandler is Test {
    OpenToken internal token;
    ModelRegistry internal models;
    WorkerRegistry internal workers;
    address[] internal requesters;
    address[] internal workerList;
    address[] internal challengers;
    address internal outsider = makeAddr("outsider");
    uint256 internal modelCount;

    uint256 public ghostBountiesIn;
    uint256 public ghostBondsIn;
    uint256 public ghostSlashedIn;
    uint256 public ghostWithdrawn;
    uint256 public ghostRefunded;
    /// @notice Set if an address nobody approved got a training job posted.
    bool public unapprovedRequest;
    /// @notice Set if a ruling slashed anything but min(max(slashAmount, collateral), free + collateral)
    ///         when upheld (so never stake backing the worker's other jobs), or anything when rejected.
    bool public wrongSlash;
    /// @notice Successful transitions by kind (probe with a temporary `assertEq(hits("lapse"), 0)`
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

    // Each action works on a job in the state it needs; when there is none it first drives one there
    // through the earlier steps (request, claim, submit, challenge), so 32-call runs reach deep states.

    function requestTraining(uint256 seed, uint256 bounty) public returns (uint256 id) {
        address r = requesters[seed % requesters.length];
        bounty = bound(bounty, 1, 100 ether);
        vm.prank(r);
        id = models.requestTraining(seed % modelCount + 1, bounty);
        ghostBountiesIn += bounty;
    }

    /// @dev Must always revert (NotApprovedRequester); flags it otherwise.
    function requestUnapproved(uint256 seed, uint256 bounty) external {
        bounty = bound(bounty, 1, 10 ether);
        vm.prank(outsider);
        models.requestTraining(seed % modelCount + 1, bounty);
        unapprovedRequest = true;
        ghostBountiesIn += bounty;
    }

    function cancelJob(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Open);
        if (id == 0) id = _job(seed, IModelRegistry.JobStatus.Claimed); // expired lease or hard deadline
        if (id == 0) return;
        IModelRegistry.Job memory job = models.getJob(id);
        vm.prank(job.requester);
        models.cancelJob(id);
        hits["cancel"]++;
        ghostRefunded += job.bounty;
    }

    /// @dev An Open job (a fresh one when none), or one whose lease may have expired.
    function claimJob(uint256 seed, uint256 workerSeed) public returns (uint256 id) {
        id = _job(seed, IModelRegistry.JobStatus.Open);
        if (id == 0 && seed % 4 == 0) id = _job(seed, IModelRegistry.JobStatus.Claimed); // only once expired
        if (id == 0) id = requestTraining(seed, uint256(keccak256(abi.encode(seed))) % 30 ether);
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

    function submitResult(uint256 seed) public returns (uint256 id) {
        id = _job(seed, IModelRegistry.JobStatus.Claimed);
        if (id == 0) id = claimJob(seed, seed >> 8);
        vm.prank(models.getJob(id).worker);
        models.submitResult(id, "bafyadapter", "bafymetrics", keccak256(abi.encode(seed)), "bafyreport");
        hits["submit"]++;
    }

    function challengeResult(uint256 seed) public returns (uint256 id) {
        id = _job(seed, IModelRegistry.JobStatus.Submitted);
        if (id == 0) id = submitResult(seed);
        uint256 bond = models.challengeBond();
        vm.prank(challengers[seed % challengers.length]);
        models.challengeResult(id, "bafyreason");
        hits["challenge"]++;
        ghostBondsIn += bond;
    }

    function resolveChallenge(uint256 seed, bool upheld) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Challenged);
        if (id == 0) id = challengeResult(seed);
        IModelRegistry.Job memory job = models.getJob(id);
        uint256 expected;
        if (upheld) {
            uint256 slashable = workers.freeStake(job.worker) + job.lockedStake;
            expected = models.slashAmount() > job.lockedStake ? models.slashAmount() : job.lockedStake;
            if (expected > slashable) expected = slashable;
        }
        uint256 before = token.balanceOf(address(workers));
        models.resolveChallenge(id, upheld);
        if (upheld) hits["upheld"]++;
        else hits["rejected"]++;
        uint256 slashed = before - token.balanceOf(address(workers));
        ghostSlashedIn += slashed;
        if (slashed != expected) wrongSlash = true;
    }

    /// @dev Lets the ruling period run out when needed (mostly), then lapses the challenge.
    function lapseChallenge(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Challenged);
        if (id == 0) return;
        uint64 rulingDeadline = models.getJob(id).dispute.rulingDeadline;
        if (block.timestamp <= rulingDeadline && seed % 4 != 0) vm.warp(rulingDeadline + 1);
        models.lapseChallenge(id);
        hits["lapse"]++;
    }

    /// @dev Lets the challenge window pass when needed (mostly), then finalizes.
    function finalize(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Submitted);
        if (id == 0) id = submitResult(seed);
        uint64 deadline = models.getJob(id).challengeDeadline;
        if (block.timestamp <= deadline && seed % 4 != 0) vm.warp(deadline + 1);
        models.finalize(id);
        hits["finalize"]++;
    }

    function activateResult(uint256 seed) external {
        uint256 id = _job(seed, IModelRegistry.JobStatus.Finalized);
        if (id == 0) return;
        vm.prank(models.getModel(models.getJob(id).modelId).owner);
        models.activateResult(id);
        hits["activate"]++;
    }

    function withdraw(uint256 seed) external {
        address[] memory all = allAccounts();
        address a = all[seed % all.length];
        uint256 amount = models.credited(a);
        if (amount == 0) return;
        models.withdrawFor(a);
        ghostWithdrawn += amount;
    }

    function setParams(uint256 bond, uint256 slashAmount, uint16 bps, uint16 collateralBps) external {
        models.setChallengeBond(bound(bond, 1, 200 ether));
        models.setSlashAmount(bound(slashAmount, 1, 300 ether));
        models.setChallengerRewardBps(uint16(bound(bps, 0, 10_000)));
        models.setCollateralBps(uint16(bound(collateralBps, 10_000, 30_000)));
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
        all = new address[](requesters.length + workerList.length + challengers.length + 2);
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
        all[k++] = outsider;
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
        uint256 first = _registerModel();
        vm.prank(stranger);
        uint256 second = models.registerModel(DATANET, 2, "base2", "bafyspec2", PRICE);
        // Each owner approves the other: both requesters may post for both models.
        vm.prank(modelOwner);
        models.setRequester(first, stranger, true);
        vm.prank(stranger);
        models.setRequester(second, modelOwner, true);
        address outsider = makeAddr("outsider");
        _fund(outsider);

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
        bytes4[] memory s = new bytes4[](18);
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
        s[14] = ModelJobsHandler.lapseChallenge.selector;
        s[15] = ModelJobsHandler.activateResult.selector;
        s[16] = ModelJobsHandler.requestUnapproved.selector;
        s[17] = ModelJobsHandler.submitResult.selector;
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
            if (job.status == IModelRegistry.JobStatus.Challenged) {
                escrow += job.dispute.bond;
                assertTrue(job.dispute.challenger != address(0), "challenged without challenger");
            } else {
                assertEq(job.dispute.bond, 0, "bond only while challenged");
                assertEq(job.dispute.challenger, address(0));
            }
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

    /// @dev Collateral is recorded exactly while a job is held, and a worker's locked stake is exactly
    ///      the collateral of the jobs it holds, never more than its stake: slashes take the struck job's
    ///      collateral and free stake only.
    function invariant_lockedStakeMatchesHeldJobs() public view {
        address[] memory ws = handler.workerAccounts();
        uint256[] memory held = new uint256[](ws.length);
        for (uint256 id = 1; id <= models.jobCount(); id++) {
            IModelRegistry.Job memory job = models.getJob(id);
            if (!_held(job.status)) {
                assertEq(job.lockedStake, 0, "collateral recorded on a job nobody holds");
                if (job.status == IModelRegistry.JobStatus.Open) assertEq(job.worker, address(0));
                continue;
            }
            assertGt(job.lockedStake, 0, "held job without collateral");
            for (uint256 i = 0; i < ws.length; i++) {
                if (job.worker == ws[i]) held[i] += job.lockedStake;
            }
        }
        for (uint256 i = 0; i < ws.length; i++) {
            uint256 locked = workers.lockedStake(ws[i]);
            assertLe(locked, _stakeOf(ws[i]), "locked above stake");
            assertEq(locked + workers.freeStake(ws[i]), _stakeOf(ws[i]));
            assertEq(locked, held[i], "locked stake != collateral of held jobs");
        }
        assertFalse(handler.wrongSlash(), "a slash other than min(max(floor, collateral), free + collateral)");
    }

    /// @dev Only the owner or an approved address ever posts training.
    function invariant_onlyApprovedRequesters() public view {
        assertFalse(handler.unapprovedRequest());
        for (uint256 id = 1; id <= models.jobCount(); id++) {
            IModelRegistry.Job memory job = models.getJob(id);
            assertTrue(models.isApprovedRequester(job.modelId, job.requester));
        }
    }

    /// @dev A live model's provider is the worker of its live (finalized) job.
    function invariant_liveModelPointsAtFinalizedJob() public view {
        for (uint256 m = 1; m <= models.modelCount(); m++) {
            IModelRegistry.Model memory model = models.getModel(m);
            if (model.status != IModelRegistry.ModelStatus.Live) {
                assertEq(model.computeProvider, address(0));
                continue;
            }
            IModelRegistry.Job memory live = models.getJob(model.liveJobId);
            assertEq(uint8(live.status), uint8(IModelRegistry.JobStatus.Finalized));
            assertEq(live.modelId, m);
            assertEq(model.computeProvider, live.worker);
            assertEq(model.adapterCid, live.result.adapterCid);
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
