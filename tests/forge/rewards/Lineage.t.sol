// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {VaultFixtures} from "../utils/VaultFixtures.sol";

/// @notice Derived models (registerDerivedModel), the lineage depth limit, the lineage share and the
///         upstream split, with fuzzing of the split and the attacks a derived model invites.
contract LineageTest is VaultFixtures {
    string internal constant BASE = "minilm-l6-v2";
    address internal attacker = makeAddr("attacker");

    function setUp() public override {
        super.setUp();
        _fund(attacker);
    }

    // ------------------------------------------------------------------ helpers

    function _derive(address owner, uint256 parent) internal returns (uint256 child) {
        vm.prank(owner);
        child = models.registerDerivedModel(DATANET, 1, BASE, "bafychildspec", PRICE, parent);
    }

    /// @dev Trains `id` (owner `owner`) with `worker` and finalizes: Live.
    function _makeLive(address owner, uint256 id) internal returns (uint256 jobId) {
        vm.prank(owner);
        jobId = models.requestTraining(id, BOUNTY);
        _claim(jobId, worker);
        _submit(jobId, worker);
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(jobId);
    }

    /// @dev A chain of `n` live models below `modelId` (each derived from the previous); the last id.
    function _chain(uint256 n) internal returns (uint256 last) {
        last = modelId;
        for (uint256 i = 0; i < n; i++) {
            last = _derive(modelOwner, last);
            _makeLive(modelOwner, last);
        }
    }

    // ------------------------------------------------------------------ registration

    function test_DerivedModelRecordsParentAndPinsItsLiveJob() public {
        uint256 parentJob = models.getModel(modelId).liveJobId;
        vm.expectEmit(true, true, false, true, address(models));
        emit IModelRegistry.ModelDerived(modelId + 1, modelId, parentJob, 1);
        uint256 child = _derive(stranger, modelId);
        (uint256 parent, uint256 job, uint256 depth) = models.lineageOf(child);
        assertEq(parent, modelId);
        assertEq(job, parentJob);
        assertEq(depth, 1);
        assertEq(models.getModel(child).owner, stranger);
        (uint256[] memory ancestors, uint256[] memory jobs) = models.ancestorsOf(child);
        assertEq(ancestors.length, 1);
        assertEq(ancestors[0], modelId);
        assertEq(jobs[0], parentJob);
        (parent,, depth) = models.lineageOf(modelId);
        assertEq(parent, 0);
        assertEq(depth, 0);
    }

    function test_ParentMustExistBeLiveAndShareTheBaseModel() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, 99));
        models.registerDerivedModel(DATANET, 1, BASE, "bafyspec", PRICE, 99);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, 0));
        models.registerDerivedModel(DATANET, 1, BASE, "bafyspec", PRICE, 0);
        uint256 registered = _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ParentNotLive.selector, registered));
        models.registerDerivedModel(DATANET, 1, BASE, "bafyspec", PRICE, registered);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.BaseModelMismatch.selector, modelId, BASE, "other"));
        models.registerDerivedModel(DATANET, 1, "other", "bafyspec", PRICE, modelId);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownVersion.selector, DATANET, 9));
        models.registerDerivedModel(DATANET, 9, BASE, "bafyspec", PRICE, modelId);
    }

    function test_DepthLimitRefusesDeeperModelsAndGovernanceSetsIt() public {
        uint256 last = _chain(3); // depth 3 = the default limit
        (,, uint256 depth) = models.lineageOf(last);
        assertEq(depth, 3);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LineageTooDeep.selector, last, 4, 3));
        models.registerDerivedModel(DATANET, 1, BASE, "bafyspec", PRICE, last);

        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, models.GOVERNANCE_ROLE()
            )
        );
        vm.prank(stranger);
        models.setMaxLineageDepth(4);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.LineageDepthOutOfRange.selector, 9, 8));
        vm.prank(gov);
        models.setMaxLineageDepth(9);

        vm.expectEmit(false, false, false, true, address(models));
        emit IModelRegistry.MaxLineageDepthSet(1);
        vm.prank(gov);
        models.setMaxLineageDepth(1);
        // a lower limit truncates what existing lineages pay: only the parent now
        (uint256[] memory ancestors,) = models.ancestorsOf(last);
        assertEq(ancestors.length, 1);
        assertEq(ancestors[0], last - 1);
        vm.prank(gov);
        models.setMaxLineageDepth(0);
        (ancestors,) = models.ancestorsOf(last);
        assertEq(ancestors.length, 0);
    }

    function test_LineageShareIsGovernedBoundedAndAnnounced() public {
        assertEq(vault.lineageShareBps(), 1_000);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, modelOwner, vault.GOVERNANCE_ROLE()
            )
        );
        vm.prank(modelOwner);
        vault.setLineageShareBps(5_000);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.LineageShareOutOfRange.selector, 5_001, 5_000));
        vm.prank(gov);
        vault.setLineageShareBps(5_001);
        vm.expectEmit(false, false, false, true, address(vault));
        emit IRewardVault.LineageShareSet(2_500);
        vm.prank(gov);
        vault.setLineageShareBps(2_500);
        assertEq(vault.lineageShareBps(), 2_500);
    }

    // ------------------------------------------------------------------ the split

    function test_UpstreamSplitPassesTheShareUpEachLevel() public {
        uint256 last = _chain(3);
        (uint256[] memory ids, uint256[] memory jobs, uint256[] memory kept) = vault.upstreamSplit(last, 1_000_000);
        assertEq(jobs[0], models.getModel(last - 1).liveJobId);
        assertEq(ids.length, 3);
        assertEq(ids[0], last - 1);
        assertEq(ids[2], modelId);
        assertEq(kept[0], 900_000); // parent keeps 90 %, passes 10 %
        assertEq(kept[1], 90_000);
        assertEq(kept[2], 10_000); // the root of the lineage keeps everything it receives
        (ids,, kept) = vault.upstreamSplit(modelId, 1_000_000);
        assertEq(ids.length, 0);
    }

    function testFuzz_UpstreamSplitConservesAndStaysInTheLineage(uint256 upstream, uint16 bps, uint8 levels) public {
        upstream = bound(upstream, 0, 1e30);
        bps = uint16(bound(bps, 0, 5_000));
        levels = uint8(bound(levels, 1, 4));
        vm.startPrank(gov);
        models.setMaxLineageDepth(4);
        vault.setLineageShareBps(bps);
        vm.stopPrank();
        uint256 last = _chain(levels);
        (uint256[] memory ids,, uint256[] memory kept) = vault.upstreamSplit(last, upstream);
        (uint256[] memory ancestors,) = models.ancestorsOf(last);
        assertEq(ids.length, levels);
        uint256 sum;
        uint256 received = upstream;
        for (uint256 i = 0; i < ids.length; i++) {
            assertEq(ids[i], ancestors[i]);
            assertLt(ids[i], i == 0 ? last : ids[i - 1]); // strictly older: no cycles
            assertLe(kept[i], received);
            // each level keeps at least (1 - bps) of what it received
            if (i + 1 < ids.length) assertGe(kept[i] * 10_000, received * (10_000 - bps));
            received -= kept[i];
            sum += kept[i];
        }
        assertEq(sum, upstream);
    }

    /// @dev The full epoch rule on leaves (docs/PROTOCOL.md): each leaf gives `amount * bps / 10_000` up;
    ///      whatever the leaves, the child's contributors keep >= (1 - bps) and nothing is created.
    function testFuzz_EpochCutNeverExceedsTheLeaves(uint96[8] memory amounts, uint16 bps) public {
        bps = uint16(bound(bps, 0, 5_000));
        vm.prank(gov);
        vault.setLineageShareBps(bps);
        uint256 child = _chain(2);
        uint256 total;
        uint256 upstream;
        for (uint256 i = 0; i < amounts.length; i++) {
            uint256 cut = uint256(amounts[i]) * vault.lineageShareBps() / 10_000;
            assertGe((uint256(amounts[i]) - cut) * 10_000, uint256(amounts[i]) * (10_000 - bps));
            total += amounts[i];
            upstream += cut;
        }
        (,, uint256[] memory kept) = vault.upstreamSplit(child, upstream);
        uint256 paidUp;
        for (uint256 i = 0; i < kept.length; i++) {
            paidUp += kept[i];
        }
        assertEq(paidUp, upstream);
        assertLe(paidUp * 10_000, total * bps);
    }

    // ------------------------------------------------------------------ attacks

    /// @dev An attacker derives from a popular model hoping to draw on its fees: the parent's pool,
    ///      payments and epochs are untouched, and the attacker's derived model pays the parent's
    ///      contributors (it never receives from them).
    function test_AttackerDerivingFromPopularModelCannotSiphonItsPool() public {
        uint256 share = _pay(100);
        (uint256 before,) = vault.pool(modelId);
        assertEq(before, share);
        uint256 evil = _derive(attacker, modelId);
        vm.prank(attacker);
        uint256 job = models.requestTraining(evil, BOUNTY);
        _claim(job, worker);
        _submit(job, worker);
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(job);
        // the parent's pool is exactly what its own payments brought
        (uint256 afterwards, uint256 reserved) = vault.pool(modelId);
        assertEq(afterwards, before);
        assertEq(reserved, 0);
        // the lineage flows child -> parent only: the parent has no ancestors to pay, the child pays it
        (uint256[] memory ids,,) = vault.upstreamSplit(modelId, 1 ether);
        assertEq(ids.length, 0);
        (ids,,) = vault.upstreamSplit(evil, 1 ether);
        assertEq(ids[0], modelId);
        // the attacker cannot post epochs on the parent's pool, nor on its own model's (not its provider)
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.NotComputeProvider.selector, modelId, attacker));
        vm.prank(attacker);
        vault.postEpochRoot(modelId, 0, keccak256("steal"), before, "bafyevil");
    }

    /// @dev A child owner who would rather pay an ancestor of its own cannot re-point its lineage: there is
    ///      no setter, and a new derived model must name a Live parent with the same base model, older than
    ///      itself, pinned at registration.
    function test_ChildOwnerCannotRepointOrInflateItsLineage() public {
        uint256 child = _derive(attacker, modelId);
        // a sham parent of the attacker's that is not live yet cannot be named
        vm.prank(attacker);
        uint256 sham = models.registerModel(DATANET, 1, BASE, "bafysham", PRICE);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ParentNotLive.selector, sham));
        vm.prank(attacker);
        models.registerDerivedModel(DATANET, 1, BASE, "bafyspec", PRICE, sham);
        // nor a model registered later than the child (ids only grow): no cycle, no re-pointing
        (uint256 parent,,) = models.lineageOf(child);
        assertEq(parent, modelId);
        // the share is governance's alone
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, attacker, vault.GOVERNANCE_ROLE()
            )
        );
        vm.prank(attacker);
        vault.setLineageShareBps(0);
    }

    /// @dev The parent's owner retrains and activates a new result: the child keeps the pinned job (its
    ///      starting adapter and the report that pays upstream), so a parent owner cannot swap either.
    function test_ParentRetrainingDoesNotChangeTheChildsPinnedJob() public {
        uint256 pinned = models.getModel(modelId).liveJobId;
        uint256 child = _derive(stranger, modelId);
        vm.prank(modelOwner);
        uint256 retrain = models.requestTraining(modelId, BOUNTY);
        _registerWorker(worker2);
        _claim(retrain, worker2);
        _submit(retrain, worker2);
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(retrain);
        vm.prank(modelOwner);
        models.activateResult(retrain);
        assertEq(models.getModel(modelId).liveJobId, retrain);
        (, uint256 job,) = models.lineageOf(child);
        assertEq(job, pinned);
        (, uint256[] memory jobs) = models.ancestorsOf(child);
        assertEq(jobs[0], pinned);
    }

    function test_RegisterDerivedModelGas() public {
        vm.prank(stranger);
        uint256 g = gasleft();
        models.registerDerivedModel(DATANET, 1, BASE, "bafychildspec", PRICE, modelId);
        uint256 derived = g - gasleft();
        vm.prank(stranger);
        g = gasleft();
        models.registerModel(DATANET, 1, BASE, "bafychildspec", PRICE);
        uint256 plain = g - gasleft();
        emit log_named_uint("registerDerivedModel gas", derived);
        emit log_named_uint("registerModel gas", plain);
        assertLt(derived, plain + 60_000); // parent reads (status, base model), one lineage slot, one event
    }
}
