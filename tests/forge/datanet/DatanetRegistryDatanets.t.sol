// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DatanetFixtures} from "../utils/DatanetFixtures.sol";
import {DatanetRegistry} from "../../../contracts/datanet/DatanetRegistry.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";

/// @notice Constructor, datanets, curators, versions, governance parameter and views.
contract DatanetRegistryDatanetsTest is DatanetFixtures {
    bytes32 internal constant ROOT = keccak256("root");

    // ------------------------------------------------------------------ constructor

    function test_constructor_setsTokenRolesAndDefaults() public view {
        assertEq(address(registry.token()), address(token));
        assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(registry.hasRole(registry.GOVERNANCE_ROLE(), admin));
        assertEq(registry.GOVERNANCE_ROLE(), keccak256("GOVERNANCE_ROLE"));
        assertFalse(registry.hasRole(registry.GOVERNANCE_ROLE(), address(this)));
        assertEq(registry.maxReviewPeriod(), registry.DEFAULT_MAX_REVIEW_PERIOD());
        assertEq(registry.totalStakeHeld(), 0);
    }

    function test_constructor_revertsOnZeroToken() public {
        vm.expectRevert(IDatanetRegistry.ZeroAddress.selector);
        new DatanetRegistry(IERC20(address(0)), admin);
    }

    function test_constructor_revertsOnZeroAdmin() public {
        vm.expectRevert(IDatanetRegistry.ZeroAddress.selector);
        new DatanetRegistry(token, address(0));
    }

    // ------------------------------------------------------------------ createDatanet

    function test_createDatanet_storesEverythingAndEmits() public {
        address[] memory curators = new address[](2);
        curators[0] = curator;
        curators[1] = bob;
        IDatanetRegistry.Policy memory policy = _policy(5 ether, 1 days, 10_000);
        vm.warp(1_000_000);

        vm.expectEmit(address(registry));
        emit IDatanetRegistry.DatanetCreated(2, alice, treasury, "bafymeta2", policy, 1_000_000);
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.CuratorSet(2, curator, true);
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.CuratorSet(2, bob, true);
        vm.prank(alice);
        uint256 id = registry.createDatanet("bafymeta2", treasury, policy, curators);

        assertEq(id, 2);
        assertEq(registry.datanetCount(), 2);
        IDatanetRegistry.Datanet memory d = registry.getDatanet(id);
        assertEq(d.owner, alice);
        assertEq(d.treasury, treasury);
        assertEq(d.metadataCid, "bafymeta2");
        assertEq(d.policy.stakePerContribution, 5 ether);
        assertEq(d.policy.reviewPeriod, 1 days);
        assertEq(d.policy.slashBps, 10_000);
        assertEq(d.createdAt, 1_000_000);
        assertEq(d.versionCount, 0);
        assertEq(d.contributionCount, 0);
        assertEq(d.acceptedCount, 0);
        assertTrue(registry.isCurator(id, curator));
        assertTrue(registry.isCurator(id, bob));
        assertFalse(registry.isCurator(id, alice));
        assertFalse(registry.isCurator(datanetId, bob));
    }

    function test_createDatanet_acceptsBoundaryPolicy() public {
        uint64 maxPeriod = registry.maxReviewPeriod();
        uint256 id = _createDatanet(_policy(0, maxPeriod, 10_000));
        assertEq(registry.getDatanet(id).policy.reviewPeriod, maxPeriod);
    }

    function test_createDatanet_revertsOnEmptyMetadataCid() public {
        vm.expectRevert(IDatanetRegistry.EmptyCid.selector);
        registry.createDatanet("", treasury, _policy(STAKE, REVIEW, SLASH_BPS), _curators());
    }

    function test_createDatanet_revertsOnZeroTreasury() public {
        vm.expectRevert(IDatanetRegistry.ZeroAddress.selector);
        registry.createDatanet("bafymeta", address(0), _policy(STAKE, REVIEW, SLASH_BPS), _curators());
    }

    function test_createDatanet_revertsOnSlashBpsAboveMax() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.SlashBpsTooHigh.selector, 10_001, 10_000));
        registry.createDatanet("bafymeta", treasury, _policy(STAKE, REVIEW, 10_001), _curators());
    }

    function test_createDatanet_revertsOnReviewPeriodAboveMax() public {
        uint64 tooLong = registry.maxReviewPeriod() + 1;
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.ReviewPeriodTooLong.selector, tooLong, tooLong - 1));
        registry.createDatanet("bafymeta", treasury, _policy(STAKE, tooLong, SLASH_BPS), _curators());
    }

    function test_createDatanet_revertsOnZeroCurator() public {
        address[] memory curators = new address[](1);
        vm.expectRevert(IDatanetRegistry.ZeroAddress.selector);
        registry.createDatanet("bafymeta", treasury, _policy(STAKE, REVIEW, SLASH_BPS), curators);
    }

    // ------------------------------------------------------------------ setCurator

    function test_setCurator_enablesAndDisables() public {
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.CuratorSet(datanetId, bob, true);
        vm.prank(owner);
        registry.setCurator(datanetId, bob, true);
        assertTrue(registry.isCurator(datanetId, bob));

        vm.expectEmit(address(registry));
        emit IDatanetRegistry.CuratorSet(datanetId, curator, false);
        vm.prank(owner);
        registry.setCurator(datanetId, curator, false);
        assertFalse(registry.isCurator(datanetId, curator));
    }

    function test_setCurator_revertsOnUnknownDatanet() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownDatanet.selector, 0));
        registry.setCurator(0, bob, true);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownDatanet.selector, 2));
        registry.setCurator(2, bob, true);
    }

    function test_setCurator_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.NotDatanetOwner.selector, datanetId, curator));
        vm.prank(curator);
        registry.setCurator(datanetId, bob, true);
    }

    function test_setCurator_revertsOnZeroCurator() public {
        vm.expectRevert(IDatanetRegistry.ZeroAddress.selector);
        vm.prank(owner);
        registry.setCurator(datanetId, address(0), true);
    }

    // ------------------------------------------------------------------ publishVersion

    function _acceptOne(uint256 n) internal {
        _review(_contribute(alice, datanetId, n), true);
    }

    function test_publishVersion_numbersVersionsAndEmits() public {
        _acceptOne(1);
        _acceptOne(2);
        vm.warp(5_000_000);
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.VersionPublished(datanetId, 1, ROOT, "bafymanifest", 20, 2, 5_000_000);
        vm.prank(owner);
        assertEq(registry.publishVersion(datanetId, ROOT, "bafymanifest", 20, 2), 1);
        vm.prank(owner);
        assertEq(registry.publishVersion(datanetId, keccak256("root2"), "bafymanifest2", 10, 1), 2);

        assertEq(registry.versionCount(datanetId), 2);
        assertEq(registry.getDatanet(datanetId).versionCount, 2);
        IDatanetRegistry.Version memory v = registry.getVersion(datanetId, 1);
        assertEq(v.merkleRoot, ROOT);
        assertEq(v.manifestCid, "bafymanifest");
        assertEq(v.recordCount, 20);
        assertEq(v.contributionCount, 2);
        assertEq(v.publishedAt, 5_000_000);
        assertEq(registry.getVersion(datanetId, 2).manifestCid, "bafymanifest2");
    }

    function test_publishVersion_revertsOnUnknownDatanet() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownDatanet.selector, 7));
        registry.publishVersion(7, ROOT, "bafymanifest", 1, 1);
    }

    function test_publishVersion_revertsForNonOwner() public {
        _acceptOne(1);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.NotDatanetOwner.selector, datanetId, curator));
        vm.prank(curator);
        registry.publishVersion(datanetId, ROOT, "bafymanifest", 1, 1);
    }

    function test_publishVersion_revertsOnZeroRoot() public {
        _acceptOne(1);
        vm.expectRevert(IDatanetRegistry.EmptyMerkleRoot.selector);
        vm.prank(owner);
        registry.publishVersion(datanetId, bytes32(0), "bafymanifest", 1, 1);
    }

    function test_publishVersion_revertsOnEmptyManifest() public {
        _acceptOne(1);
        vm.expectRevert(IDatanetRegistry.EmptyCid.selector);
        vm.prank(owner);
        registry.publishVersion(datanetId, ROOT, "", 1, 1);
    }

    function test_publishVersion_revertsOnEmptyVersion() public {
        _acceptOne(1);
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.EmptyVersion.selector, 0, 1));
        registry.publishVersion(datanetId, ROOT, "bafymanifest", 0, 1);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.EmptyVersion.selector, 5, 0));
        registry.publishVersion(datanetId, ROOT, "bafymanifest", 5, 0);
        vm.stopPrank();
    }

    function test_publishVersion_revertsWhenMoreContributionsThanAccepted() public {
        _acceptOne(1);
        _contribute(alice, datanetId, 2); // pending: does not count
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.VersionExceedsAccepted.selector, datanetId, 2, 1));
        vm.prank(owner);
        registry.publishVersion(datanetId, ROOT, "bafymanifest", 20, 2);
    }

    function test_getVersion_revertsOnUnknownVersionOrDatanet() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownVersion.selector, datanetId, 0));
        registry.getVersion(datanetId, 0);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownVersion.selector, datanetId, 1));
        registry.getVersion(datanetId, 1);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownDatanet.selector, 9));
        registry.getVersion(9, 1);
    }

    // ------------------------------------------------------------------ setMaxReviewPeriod

    function test_setMaxReviewPeriod_updatesBoundAndEmits() public {
        uint64 previous = registry.maxReviewPeriod();
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.MaxReviewPeriodSet(previous, 90 days);
        vm.prank(admin);
        registry.setMaxReviewPeriod(90 days);
        assertEq(registry.maxReviewPeriod(), 90 days);
        uint256 id = _createDatanet(_policy(STAKE, 90 days, SLASH_BPS));
        assertEq(registry.getDatanet(id).policy.reviewPeriod, 90 days);
    }

    function test_setMaxReviewPeriod_acceptsCap() public {
        uint64 cap = registry.MAX_REVIEW_PERIOD_CAP();
        vm.prank(admin);
        registry.setMaxReviewPeriod(cap);
        assertEq(registry.maxReviewPeriod(), cap);
    }

    function test_setMaxReviewPeriod_revertsWithoutGovernanceRole() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, owner, registry.GOVERNANCE_ROLE()
            )
        );
        vm.prank(owner);
        registry.setMaxReviewPeriod(1 days);
    }

    function test_setMaxReviewPeriod_revertsOutOfBounds() public {
        uint64 cap = registry.MAX_REVIEW_PERIOD_CAP();
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.MaxReviewPeriodOutOfBounds.selector, 0, cap));
        registry.setMaxReviewPeriod(0);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.MaxReviewPeriodOutOfBounds.selector, cap + 1, cap));
        registry.setMaxReviewPeriod(cap + 1);
        vm.stopPrank();
    }

    function test_setMaxReviewPeriod_doesNotChangeExistingPolicies() public {
        vm.prank(admin);
        registry.setMaxReviewPeriod(1 days);
        assertEq(registry.getDatanet(datanetId).policy.reviewPeriod, REVIEW);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.ReviewPeriodTooLong.selector, REVIEW, 1 days));
        _createDatanet(_policy(STAKE, REVIEW, SLASH_BPS));
    }

    // ------------------------------------------------------------------ views on unknown ids

    function test_views_unknownIds() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownDatanet.selector, 0));
        registry.getDatanet(0);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownDatanet.selector, 2));
        registry.getDatanet(2);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownContribution.selector, 1));
        registry.getContribution(1);
        assertEq(registry.versionCount(42), 0);
        assertEq(registry.acceptedCount(42), 0);
        assertFalse(registry.isCurator(42, curator));
        assertEq(registry.contributionIdByCid(datanetId, alice, "nope"), 0);
    }
}
