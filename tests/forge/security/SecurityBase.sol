// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";
import {DatanetRegistry} from "../../../contracts/datanet/DatanetRegistry.sol";
import {WorkerRegistry} from "../../../contracts/model/WorkerRegistry.sol";
import {ModelRegistry} from "../../../contracts/model/ModelRegistry.sol";
import {RewardVault} from "../../../contracts/rewards/RewardVault.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";
import {IDatanetVersions} from "../../../contracts/interfaces/IDatanetVersions.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {MerkleHelper} from "../utils/MerkleHelper.sol";

/// @notice Self-contained deployment for the security suites (issue 12): the real OpenToken,
///         DatanetRegistry, WorkerRegistry, ModelRegistry and RewardVault, administered by this contract
///         (the deployer) and wired as in deployment (setSlashers([models, vault]), bindRewardVault(vault));
///         a datanet with one accepted contribution and a published version; a model served by an honest
///         worker; an attacker worker and a colluding second account; every actor funded and approved.
abstract contract SecurityBase is Test {
    uint256 internal constant SUPPLY = 1_000_000_000 ether;
    uint256 internal constant FUNDS = 100_000 ether;
    uint256 internal constant HONEST_STAKE = 1_000 ether;
    uint256 internal constant ATTACKER_STAKE = 300 ether;
    uint256 internal constant MIN_STAKE = 100 ether;
    uint256 internal constant PRICE = 1 ether;
    uint256 internal constant BOUNTY = 10 ether;
    uint256 internal constant BOND = 100 ether;
    uint256 internal constant SLASH_FLOOR = 100 ether;
    uint16 internal constant COLLATERAL_BPS = 15_000;
    uint16 internal constant REWARD_BPS = 5_000;
    uint256 internal constant BPS = 10_000;
    uint64 internal constant WINDOW = 1 days;
    uint64 internal constant RULING = 7 days;
    uint64 internal constant LEASE = 1 days;
    uint64 internal constant MAX_LEASE = 3 days;
    uint64 internal constant JOB_DEADLINE = 14 days;
    uint64 internal constant CLAIM_PERIOD = 180 days;
    uint256 internal constant CONTRIBUTION_STAKE = 10 ether;

    OpenToken internal token;
    DatanetRegistry internal datanets;
    WorkerRegistry internal workers;
    ModelRegistry internal models;
    RewardVault internal vault;

    /// @dev Deployer = DEFAULT_ADMIN_ROLE and GOVERNANCE_ROLE holder everywhere (the timelock's place).
    address internal admin;
    address internal treasury = makeAddr("treasury");
    address internal datanetOwner = makeAddr("datanetOwner");
    address internal curator = makeAddr("curator");
    address internal contributor = makeAddr("contributor");
    address internal contributor2 = makeAddr("contributor2");
    address internal modelOwner = makeAddr("modelOwner");
    address internal honest = makeAddr("honestWorker");
    address internal worker2 = makeAddr("worker2");
    address internal attacker = makeAddr("attacker");
    address internal colluder = makeAddr("colluder");
    address internal challenger = makeAddr("honestChallenger");
    address internal payer = makeAddr("payer");
    address internal stranger = makeAddr("stranger");
    address internal requester = makeAddr("approvedRequester");

    uint256 internal datanetId;
    uint256 internal versionId;
    uint256 internal contributionId;
    /// @dev Model owned by `modelOwner`, Live, served by `honest`.
    uint256 internal modelId;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        admin = address(this);
        _deploy();
        _fundActors();
        _registerWorker(honest, HONEST_STAKE);
        _registerWorker(worker2, HONEST_STAKE);
        _registerWorker(attacker, ATTACKER_STAKE);
        _createDatanet();
        vm.prank(modelOwner);
        modelId = models.registerModel(datanetId, versionId, "base-model", "bafy-spec", PRICE);
        _serve(modelId, honest);
    }

    // ------------------------------------------------------------------ deployment

    function _deploy() internal {
        token = new OpenToken(admin, SUPPLY);
        datanets = new DatanetRegistry(token, admin);
        workers = new WorkerRegistry(token, admin);
        models = new ModelRegistry(token, IDatanetVersions(address(datanets)), workers, treasury, admin);
        vault = new RewardVault(token, models, workers, treasury, admin);
        address[] memory slashers = new address[](2);
        slashers[0] = address(models);
        slashers[1] = address(vault);
        workers.setSlashers(slashers);
        models.bindRewardVault(address(vault));
    }

    /// @dev Every named actor: funded and approving all four token-pulling contracts.
    function _actors() internal view virtual returns (address[] memory a) {
        a = new address[](13);
        a[0] = datanetOwner;
        a[1] = curator;
        a[2] = contributor;
        a[3] = contributor2;
        a[4] = modelOwner;
        a[5] = honest;
        a[6] = worker2;
        a[7] = attacker;
        a[8] = colluder;
        a[9] = challenger;
        a[10] = payer;
        a[11] = stranger;
        a[12] = requester;
    }

    function _fundActors() internal {
        address[] memory a = _actors();
        for (uint256 i = 0; i < a.length; i++) {
            _fund(a[i]);
        }
    }

    function _fund(address who) internal {
        token.transfer(who, FUNDS);
        vm.startPrank(who);
        token.approve(address(datanets), type(uint256).max);
        token.approve(address(workers), type(uint256).max);
        token.approve(address(models), type(uint256).max);
        token.approve(address(vault), type(uint256).max);
        vm.stopPrank();
    }

    function _registerWorker(address who, uint256 stake) internal {
        vm.prank(who);
        workers.registerWorker(stake, string.concat("https://", vm.toString(who)));
    }

    function _createDatanet() internal {
        address[] memory curators = new address[](1);
        curators[0] = curator;
        vm.prank(datanetOwner);
        datanetId = datanets.createDatanet(
            "bafy-datanet",
            datanetOwner,
            IDatanetRegistry.Policy({stakePerContribution: CONTRIBUTION_STAKE, reviewPeriod: 1 days, slashBps: 1_000}),
            curators
        );
        vm.prank(contributor);
        contributionId = datanets.contribute(datanetId, "bafy-contribution-1", 1_024, 10);
        vm.prank(curator);
        datanets.review(contributionId, true, "bafy-ok");
        vm.prank(datanetOwner);
        versionId = datanets.publishVersion(datanetId, keccak256("version-1"), "bafy-manifest-1", 10, 1);
    }

    // ------------------------------------------------------------------ model helpers

    /// @dev A new model of `modelOwner` on the published version, priced PRICE, not yet live.
    function _newModel() internal returns (uint256 id) {
        vm.prank(modelOwner);
        id = models.registerModel(datanetId, versionId, "base-model", "bafy-spec", PRICE);
    }

    /// @dev A new model whose provider is `worker`.
    function _newModelServedBy(address worker) internal returns (uint256 id) {
        id = _newModel();
        _serve(id, worker);
    }

    /// @dev The owner requests training, `worker` trains and the result finalizes; the owner activates
    ///      it if the model already had an active provider. Returns the job id.
    function _serve(uint256 id, address worker) internal returns (uint256 jobId) {
        jobId = _trainedJob(id, modelOwner, worker, BOUNTY);
        if (models.computeProviderOf(id) != worker) {
            vm.prank(modelOwner);
            models.activateResult(jobId);
        }
        assertEq(models.computeProviderOf(id), worker, "served by worker");
    }

    /// @dev `req` requests training, `worker` claims, submits and the job finalizes after its window.
    function _trainedJob(uint256 id, address req, address worker, uint256 bounty) internal returns (uint256 jobId) {
        jobId = _submittedJob(id, req, worker, bounty);
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(jobId);
    }

    function _submittedJob(uint256 id, address req, address worker, uint256 bounty) internal returns (uint256 jobId) {
        vm.prank(req);
        jobId = models.requestTraining(id, bounty);
        vm.startPrank(worker);
        models.claimJob(jobId);
        models.submitResult(
            jobId,
            string.concat("bafy-adapter-", vm.toString(jobId)),
            "bafy-metrics",
            keccak256(abi.encode("attribution", jobId)),
            "bafy-report"
        );
        vm.stopPrank();
    }

    /// @dev `payer` buys `count` inferences at the current price; the contributors get half.
    function _pay(uint256 id, uint256 count) internal {
        (, uint256 price,,) = models.paymentTerms(id);
        vm.prank(payer);
        vault.payForInference(id, count, price, bytes32(count));
    }

    /// @dev Pays until `id`'s pool has at least `amount` available (PRICE per request, 50% to the pool).
    function _fillPool(uint256 id, uint256 amount) internal {
        (uint256 available,) = vault.pool(id);
        if (available >= amount) return;
        _pay(id, ((amount - available) * 2 + PRICE - 1) / PRICE);
    }

    function _available(uint256 id) internal view returns (uint256 available) {
        (available,) = vault.pool(id);
    }

    function _reserved(uint256 id) internal view returns (uint256 reserved) {
        (, reserved) = vault.pool(id);
    }

    // ------------------------------------------------------------------ epoch helpers

    /// @dev Root of a one-leaf tree (0, account, amount).
    function _rootOne(address account, uint256 amount) internal pure returns (bytes32) {
        return MerkleHelper.leaf(0, account, amount);
    }

    /// @dev Tree of (i, accounts[i], amounts[i]).
    function _tree(address[] memory accounts, uint256[] memory amounts) internal pure returns (bytes32[] memory) {
        return MerkleHelper.buildTree(MerkleHelper.leaves(accounts, amounts));
    }

    function _post(uint256 id, address poster, bytes32 root, uint256 total) internal returns (uint64 epoch) {
        epoch = vault.nextEpoch(id);
        vm.prank(poster);
        vault.postEpochRoot(id, epoch, root, total, "bafy-epoch-report");
    }

    function _epoch(uint256 id, uint64 epoch) internal view returns (IRewardVault.Epoch memory) {
        return vault.getEpoch(id, epoch);
    }

    // ------------------------------------------------------------------ accounting

    /// @dev Everything `who` owns in the protocol: wallet + credited payouts (both contracts) + stake.
    function _wealth(address who) internal view returns (uint256) {
        return token.balanceOf(who) + models.credited(who) + vault.credited(who) + workers.stakeOf(who);
    }

    function _model(uint256 id) internal view returns (IModelRegistry.Model memory) {
        return models.getModel(id);
    }
}
