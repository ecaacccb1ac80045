// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {DatanetFixtures} from "../utils/DatanetFixtures.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";

/// @notice Property tests over stakes, split ratios, policy bounds and time windows.
contract DatanetRegistryFuzzTest is DatanetFixtures {
    function testFuzz_reject_splitSumsToStakeAndMovesExactly(uint256 stake, uint16 slashBps) public {
        stake = bound(stake, 0, FUNDS);
        slashBps = uint16(bound(slashBps, 0, 10_000));
        uint256 id = _contribute(alice, _createDatanet(_policy(stake, REVIEW, slashBps)), 1);

        vm.recordLogs();
        _review(id, false);
        (uint256 slashed, uint256 refunded) = _reviewedAmounts();

        assertEq(slashed + refunded, stake, "split must sum to the stake");
        assertEq(slashed, (stake * slashBps) / 10_000);
        assertEq(token.balanceOf(treasury), slashed);
        assertEq(token.balanceOf(alice), FUNDS - slashed);
        assertEq(token.balanceOf(address(registry)), 0);
    }

    function _reviewedAmounts() internal returns (uint256 slashed, uint256 refunded) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 found;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] == IDatanetRegistry.ContributionReviewed.selector) {
                (,, slashed, refunded) = abi.decode(logs[i].data, (bool, string, uint256, uint256));
                ++found;
            }
        }
        assertEq(found, 1, "one ContributionReviewed event");
    }

    function testFuzz_createDatanet_policyBounds(uint16 slashBps, uint64 reviewPeriod) public {
        uint64 maxPeriod = registry.maxReviewPeriod();
        IDatanetRegistry.Policy memory policy = _policy(STAKE, reviewPeriod, slashBps);
        if (slashBps > 10_000) {
            vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.SlashBpsTooHigh.selector, slashBps, 10_000));
        } else if (reviewPeriod > maxPeriod) {
            vm.expectRevert(
                abi.encodeWithSelector(IDatanetRegistry.ReviewPeriodTooLong.selector, reviewPeriod, maxPeriod)
            );
        }
        vm.prank(owner);
        registry.createDatanet("bafymeta", treasury, policy, _curators());
    }

    function testFuzz_setMaxReviewPeriod_bounds(uint64 value) public {
        uint64 cap = registry.MAX_REVIEW_PERIOD_CAP();
        bool valid = value != 0 && value <= cap;
        if (!valid) {
            vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.MaxReviewPeriodOutOfBounds.selector, value, cap));
        }
        vm.prank(admin);
        registry.setMaxReviewPeriod(value);
        if (valid) assertEq(registry.maxReviewPeriod(), value);
    }

    function testFuzz_withdraw_onlyFromEndOfReviewPeriod(uint64 reviewPeriod, uint64 elapsed) public {
        reviewPeriod = uint64(bound(reviewPeriod, 0, registry.maxReviewPeriod()));
        elapsed = uint64(bound(elapsed, 0, 2 * uint256(reviewPeriod) + 1));
        uint256 id = _contribute(alice, _createDatanet(_policy(STAKE, reviewPeriod, SLASH_BPS)), 1);
        uint256 start = block.timestamp;
        vm.warp(start + elapsed);
        if (elapsed < reviewPeriod) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDatanetRegistry.ReviewPeriodNotOver.selector, id, start + reviewPeriod, start + elapsed
                )
            );
        }
        vm.prank(alice);
        registry.withdrawContribution(id);
        assertEq(token.balanceOf(alice), elapsed < reviewPeriod ? FUNDS - STAKE : FUNDS);
    }

    function testFuzz_release_onlyFromEndOfReviewPeriod(uint64 reviewPeriod, uint64 elapsed) public {
        reviewPeriod = uint64(bound(reviewPeriod, 0, registry.maxReviewPeriod()));
        elapsed = uint64(bound(elapsed, 0, 2 * uint256(reviewPeriod) + 1));
        uint256 id = _contribute(alice, _createDatanet(_policy(STAKE, reviewPeriod, SLASH_BPS)), 1);
        _review(id, true);
        vm.warp(block.timestamp + elapsed);
        if (elapsed < reviewPeriod) vm.expectPartialRevert(IDatanetRegistry.ReviewPeriodNotOver.selector);
        registry.releaseStake(id);
        assertEq(registry.getContribution(id).stakeReleased, elapsed >= reviewPeriod);
    }

    function testFuzz_contribute_recordsArbitraryContent(string calldata cid, uint64 byteSize, uint32 records) public {
        vm.assume(bytes(cid).length > 0 && byteSize > 0 && records > 0);
        vm.warp(1_700_000_000);
        vm.recordLogs();
        vm.prank(bob);
        uint256 id = registry.contribute(datanetId, cid, byteSize, records);
        IDatanetRegistry.Contribution memory c = registry.getContribution(id);
        assertEq(c.contributor, bob);
        assertEq(c.datanetId, datanetId);
        assertEq(c.byteSize, byteSize);
        assertEq(c.recordCount, records);
        assertEq(c.submittedAt, 1_700_000_000);
        // The CID is only in the event: in full, with the stored fields, whatever its content or length.
        _assertSubmitted(id, cid, byteSize, records);
        assertEq(registry.contributionIdByCid(datanetId, bob, cid), id);
        assertEq(registry.contributionIdByCid(datanetId, alice, cid), 0);

        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.DuplicateContribution.selector, datanetId, cid));
        vm.prank(bob);
        registry.contribute(datanetId, cid, byteSize, records);

        // Another contributor's copy of the CID is a contribution of its own; bob's record is untouched.
        vm.prank(alice);
        uint256 copy = registry.contribute(datanetId, cid, byteSize, records);
        assertEq(registry.contributionIdByCid(datanetId, alice, cid), copy);
        assertEq(registry.contributionIdByCid(datanetId, bob, cid), id);
    }

    /// @dev The first recorded log (the stake's Transfer follows) is `id`'s ContributionSubmitted with these values.
    function _assertSubmitted(uint256 id, string memory cid, uint64 byteSize, uint32 records) internal {
        Vm.Log memory submitted = vm.getRecordedLogs()[0];
        assertEq(submitted.emitter, address(registry));
        assertEq(submitted.topics[0], IDatanetRegistry.ContributionSubmitted.selector);
        assertEq(uint256(submitted.topics[1]), id);
        (string memory logged, uint64 loggedSize, uint32 loggedRecords,,) =
            abi.decode(submitted.data, (string, uint64, uint32, uint256, uint64));
        assertEq(logged, cid);
        assertEq(loggedSize, byteSize);
        assertEq(loggedRecords, records);
    }

    function testFuzz_stakeTakenFromPolicy(uint256 stake, uint8 count) public {
        stake = bound(stake, 0, FUNDS / 8);
        count = uint8(bound(count, 1, 8));
        uint256 id = _createDatanet(_policy(stake, REVIEW, SLASH_BPS));
        for (uint256 i = 0; i < count; ++i) {
            assertEq(registry.getContribution(_contribute(alice, id, i)).stake, stake);
        }
        assertEq(token.balanceOf(address(registry)), stake * count);
        assertEq(registry.totalStakeHeld(), stake * count);
    }
}
