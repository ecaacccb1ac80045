// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Vm} from "forge-std/Vm.sol";
import {DatanetFixtures} from "../utils/DatanetFixtures.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";
import {DatanetRegistry} from "../../../contracts/datanet/DatanetRegistry.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";

/// @notice contribute, contributeWithPermit, review, releaseStake, withdrawContribution: every path.
contract DatanetRegistryContributionsTest is DatanetFixtures {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    /// @dev A real-length CIDv1 (59 characters: longer than one storage word).
    string internal constant LONG_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    /// @dev Storage layout (`forge inspect DatanetRegistry storageLayout`): slot 1 packs datanetCount,
    ///      contributionCount and totalStakeHeld; slot 4 is the contributions mapping.
    bytes32 internal constant COUNTERS_SLOT = bytes32(uint256(1));
    uint256 internal constant CONTRIBUTIONS_SLOT = 4;

    function _contributeCid(address who, string memory cid) internal returns (uint256 id) {
        vm.prank(who);
        id = registry.contribute(datanetId, cid, 1024, 10);
    }

    /// @dev (contributionId, contentCid) of the one ContributionSubmitted among `logs`.
    function _submittedCid(Vm.Log[] memory logs) internal view returns (uint256 id, string memory cid) {
        uint256 found;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(registry)) continue;
            if (logs[i].topics[0] != IDatanetRegistry.ContributionSubmitted.selector) continue;
            id = uint256(logs[i].topics[1]);
            (cid,,,,) = abi.decode(logs[i].data, (string, uint64, uint32, uint256, uint64));
            ++found;
        }
        assertEq(found, 1, "one ContributionSubmitted");
    }

    /// @dev (contributionId, reasonCid) of the one ContributionReviewed among `logs`.
    function _reviewedReason(Vm.Log[] memory logs) internal view returns (uint256 id, string memory reason) {
        uint256 found;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(registry)) continue;
            if (logs[i].topics[0] != IDatanetRegistry.ContributionReviewed.selector) continue;
            id = uint256(logs[i].topics[1]);
            (, reason,,) = abi.decode(logs[i].data, (bool, string, uint256, uint256));
            ++found;
        }
        assertEq(found, 1, "one ContributionReviewed");
    }

    // ------------------------------------------------------------------ contribute

    function test_contribute_escrowsStakeStoresAndEmits() public {
        vm.warp(2_000_000);
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.ContributionSubmitted(1, datanetId, alice, _cid(1), 1024, 10, STAKE, 2_000_000);
        uint256 id = _contribute(alice, datanetId, 1);

        assertEq(id, 1);
        assertEq(registry.contributionCount(), 1);
        assertEq(registry.getDatanet(datanetId).contributionCount, 1);
        assertEq(token.balanceOf(alice), FUNDS - STAKE);
        assertEq(token.balanceOf(address(registry)), STAKE);
        assertEq(registry.totalStakeHeld(), STAKE);
        assertEq(registry.contributionIdByCid(datanetId, alice, _cid(1)), 1);
        assertEq(registry.contributionIdByCid(datanetId, bob, _cid(1)), 0);

        IDatanetRegistry.Contribution memory c = registry.getContribution(id);
        assertEq(c.datanetId, datanetId);
        assertEq(c.contributor, alice);
        assertEq(c.byteSize, 1024);
        assertEq(c.recordCount, 10);
        assertEq(c.stake, STAKE);
        assertEq(uint8(c.status), uint8(IDatanetRegistry.ContributionStatus.Pending));
        assertEq(c.submittedAt, 2_000_000);
        assertFalse(c.stakeReleased);
    }

    /// @dev The CID is not stored, so the event is its only on-chain copy: it must carry it in full, however
    ///      long, and the (contributor, CID) key must resolve it back to the id.
    function test_contribute_eventCarriesTheFullCid() public {
        string memory cid = string.concat(LONG_CID, LONG_CID, LONG_CID); // 177 bytes: six ABI words
        vm.recordLogs();
        uint256 id = _contributeCid(alice, cid);
        (uint256 loggedId, string memory logged) = _submittedCid(vm.getRecordedLogs());
        assertEq(loggedId, id);
        assertEq(logged, cid);
        assertEq(registry.contributionIdByCid(datanetId, alice, logged), id);
        assertEq(registry.contributionIdByCid(datanetId, alice, LONG_CID), 0, "a prefix is another key");
    }

    /// @dev What makes contribute cheap: it writes five storage slots whatever the CID's length (the global
    ///      counters, the datanet's counters, the (contributor, CID) key and the two-slot record), and the
    ///      record's third slot stays empty.
    function test_contribute_writesFiveSlotsWhateverTheCidLength() public {
        assertEq(_slotsWritten(_cid(1)), 5);
        assertEq(_slotsWritten(string.concat(LONG_CID, LONG_CID, LONG_CID, LONG_CID)), 5);
        bytes32 base = keccak256(abi.encode(uint256(2), CONTRIBUTIONS_SLOT));
        assertTrue(vm.load(address(registry), base) != bytes32(0), "slot 0 of the record");
        assertTrue(vm.load(address(registry), bytes32(uint256(base) + 1)) != bytes32(0), "slot 1 of the record");
        assertEq(vm.load(address(registry), bytes32(uint256(base) + 2)), bytes32(0), "no third slot");
    }

    function _slotsWritten(string memory cid) internal returns (uint256 unique) {
        vm.record();
        _contributeCid(alice, cid);
        (, bytes32[] memory writes) = vm.accesses(address(registry));
        for (uint256 i = 0; i < writes.length; ++i) {
            bool seen;
            for (uint256 j = 0; j < i; ++j) {
                if (writes[j] == writes[i]) seen = true;
            }
            if (!seen) ++unique;
        }
    }

    /// @dev Every packed field at its type's maximum survives the round trip, and later writes to a slot
    ///      (status, stakeReleased) leave its neighbours intact.
    function test_contribute_packedFieldsRoundTripAtTheirMaximum() public {
        uint256 maxStake = type(uint128).max;
        OpenToken big = new OpenToken(address(this), maxStake * 2);
        DatanetRegistry fresh = new DatanetRegistry(big, admin);
        // Slot 1 packs (datanetCount, contributionCount, totalStakeHeld): start one id short of uint64's end.
        vm.store(address(fresh), COUNTERS_SLOT, bytes32(uint256(type(uint64).max - 1)));
        assertEq(fresh.datanetCount(), type(uint64).max - 1);
        vm.prank(owner);
        uint256 dn = fresh.createDatanet("bafymeta", treasury, _policy(maxStake, 0, 5_000), _curators());
        assertEq(dn, type(uint64).max);
        big.transfer(alice, maxStake);
        vm.prank(alice);
        big.approve(address(fresh), maxStake);
        vm.warp(type(uint40).max);
        vm.prank(alice);
        uint256 id = fresh.contribute(dn, LONG_CID, type(uint64).max, type(uint32).max);

        IDatanetRegistry.Contribution memory c = fresh.getContribution(id);
        assertEq(c.contributor, alice);
        assertEq(c.submittedAt, type(uint40).max);
        assertEq(uint8(c.status), uint8(IDatanetRegistry.ContributionStatus.Pending));
        assertFalse(c.stakeReleased);
        assertEq(c.recordCount, type(uint32).max);
        assertEq(c.datanetId, type(uint64).max);
        assertEq(c.byteSize, type(uint64).max);
        assertEq(c.stake, maxStake);
        assertEq(fresh.totalStakeHeld(), maxStake);
        assertEq(fresh.getDatanet(dn).contributionCount, 1);

        vm.prank(curator);
        fresh.review(id, false, "bafyreason");
        c = fresh.getContribution(id);
        assertEq(uint8(c.status), uint8(IDatanetRegistry.ContributionStatus.Rejected));
        assertTrue(c.stakeReleased);
        assertEq(c.contributor, alice);
        assertEq(c.submittedAt, type(uint40).max);
        assertEq(c.recordCount, type(uint32).max);
        assertEq(c.datanetId, type(uint64).max);
        assertEq(c.byteSize, type(uint64).max);
        assertEq(c.stake, maxStake);
        assertEq(big.balanceOf(treasury), maxStake / 2);
        assertEq(big.balanceOf(alice), maxStake - maxStake / 2);
        assertEq(fresh.totalStakeHeld(), 0);

        vm.expectRevert(abi.encodeWithSelector(bytes4(keccak256("Panic(uint256)")), 0x11));
        vm.prank(owner);
        fresh.createDatanet("bafymeta", treasury, _policy(0, 0, 0), _curators()); // ids are uint64
    }

    /// @dev A stake is stored as a uint128: a policy above that cannot take contributions (SafeCast).
    function test_contribute_revertsWhenTheStakeOverflowsUint128() public {
        uint256 tooBig = uint256(type(uint128).max) + 1;
        uint256 dn = _createDatanet(_policy(tooBig, REVIEW, SLASH_BPS));
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 128, tooBig));
        _contribute(alice, dn, 1);
    }

    /// @dev Contribution ids are uint64: the counter refuses to wrap.
    function test_contribute_revertsWhenContributionIdsRunOut() public {
        bytes32 counters = vm.load(address(registry), COUNTERS_SLOT);
        vm.store(address(registry), COUNTERS_SLOT, counters | bytes32(uint256(type(uint64).max) << 64));
        assertEq(registry.contributionCount(), type(uint64).max);
        assertEq(registry.datanetCount(), 1, "neighbouring counter intact");
        vm.expectRevert(abi.encodeWithSelector(bytes4(keccak256("Panic(uint256)")), 0x11));
        _contribute(alice, datanetId, 1);
    }

    function test_contribute_sameCidInAnotherDatanetIsFine() public {
        uint256 other = _createDatanet(_policy(STAKE, REVIEW, SLASH_BPS));
        _contribute(alice, datanetId, 1);
        assertEq(_contribute(bob, other, 1), 2);
    }

    function test_contribute_freeDatanetMovesNoTokens() public {
        uint256 free = _createDatanet(_policy(0, 0, SLASH_BPS));
        uint256 id = _contribute(alice, free, 1);
        assertEq(token.balanceOf(alice), FUNDS);
        _review(id, true);
        registry.releaseStake(id);
        assertTrue(registry.getContribution(id).stakeReleased);
        assertEq(token.balanceOf(alice), FUNDS);
    }

    function test_contribute_revertsOnUnknownDatanet() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownDatanet.selector, 3));
        vm.prank(alice);
        registry.contribute(3, "bafy", 1, 1);
    }

    function test_contribute_revertsOnEmptyCid() public {
        vm.expectRevert(IDatanetRegistry.EmptyCid.selector);
        vm.prank(alice);
        registry.contribute(datanetId, "", 1, 1);
    }

    function test_contribute_revertsOnEmptyContent() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.EmptyContribution.selector, 0, 1));
        registry.contribute(datanetId, "bafy", 0, 1);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.EmptyContribution.selector, 1, 0));
        registry.contribute(datanetId, "bafy", 1, 0);
        vm.stopPrank();
    }

    function test_contribute_revertsOnDuplicatePendingAcceptedOrRejected() public {
        uint256 pending = _contribute(alice, datanetId, 1);
        _expectDuplicate(alice, 1);
        _review(pending, true);
        _expectDuplicate(alice, 1);
        _review(_contribute(alice, datanetId, 2), false);
        _expectDuplicate(alice, 2);
    }

    function _expectDuplicate(address who, uint256 n) internal {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.DuplicateContribution.selector, datanetId, _cid(n)));
        vm.prank(who);
        registry.contribute(datanetId, _cid(n), 1024, 10);
    }

    /// @dev Contributions are keyed by (contributor, CID): bob copying alice's pending CID in front of her
    ///      transaction neither blocks her submission nor takes its place.
    function test_contribute_sameCidFromAnotherContributorIsItsOwnContribution() public {
        uint256 frontRun = _contribute(bob, datanetId, 1);
        uint256 victim = _contribute(alice, datanetId, 1);
        assertEq(frontRun, 1);
        assertEq(victim, 2);
        assertEq(registry.contributionIdByCid(datanetId, bob, _cid(1)), frontRun);
        assertEq(registry.contributionIdByCid(datanetId, alice, _cid(1)), victim);
        assertEq(registry.getContribution(victim).contributor, alice);
        assertEq(registry.getContribution(frontRun).contributor, bob);
        assertEq(registry.totalStakeHeld(), 2 * STAKE);

        // Each record is reviewed on its own: rejecting the copy leaves alice's contribution untouched.
        _review(frontRun, false);
        assertEq(uint8(_status(victim)), uint8(IDatanetRegistry.ContributionStatus.Pending));
        _review(victim, true);
        assertEq(registry.acceptedCount(datanetId), 1);
        // ... and each contributor is still held to one live record per CID.
        _expectDuplicate(bob, 1);
        _expectDuplicate(alice, 1);
    }

    function test_contribute_withdrawnCidMayBeResubmitted() public {
        uint256 first = _contribute(alice, datanetId, 1);
        vm.warp(block.timestamp + REVIEW);
        vm.prank(alice);
        registry.withdrawContribution(first);
        uint256 second = _contribute(alice, datanetId, 1);
        assertEq(registry.contributionIdByCid(datanetId, alice, _cid(1)), second);
        assertEq(registry.getContribution(second).contributor, alice);
        assertEq(uint8(_status(first)), uint8(IDatanetRegistry.ContributionStatus.Withdrawn));
        assertEq(uint8(_status(second)), uint8(IDatanetRegistry.ContributionStatus.Pending));
    }

    function test_contribute_revertsWithoutAllowance() public {
        vm.prank(alice);
        token.approve(address(registry), STAKE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(registry), STAKE - 1, STAKE
            )
        );
        _contribute(alice, datanetId, 1);
    }

    function test_contribute_revertsWithoutBalance() public {
        vm.prank(stranger);
        token.approve(address(registry), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, stranger, 0, STAKE));
        _contribute(stranger, datanetId, 1);
    }

    // ------------------------------------------------------------------ contributeWithPermit

    function _permitSig(uint256 value, uint256 deadline) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, alice, address(registry), value, token.nonces(alice), deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(aliceKey, digest);
    }

    function test_contributeWithPermit_noPriorApproval() public {
        vm.prank(alice);
        token.approve(address(registry), 0);
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(STAKE, block.timestamp + 1 hours);
        vm.prank(alice);
        uint256 id = registry.contributeWithPermit(datanetId, "bafyp", 1, 1, block.timestamp + 1 hours, v, r, s);
        assertEq(registry.getContribution(id).stake, STAKE);
        assertEq(token.balanceOf(address(registry)), STAKE);
        assertEq(token.allowance(alice, address(registry)), 0);
        assertEq(token.nonces(alice), 1);
    }

    function test_contributeWithPermit_survivesFrontRunPermit() public {
        vm.prank(alice);
        token.approve(address(registry), 0);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(STAKE, deadline);
        token.permit(alice, address(registry), STAKE, deadline, v, r, s); // attacker submits it first
        vm.prank(alice);
        uint256 id = registry.contributeWithPermit(datanetId, "bafyp", 1, 1, deadline, v, r, s);
        assertEq(registry.getContribution(id).contributor, alice);
        assertEq(token.balanceOf(address(registry)), STAKE);
    }

    function test_contributeWithPermit_badPermitWithoutAllowanceReverts() public {
        vm.prank(alice);
        token.approve(address(registry), 0);
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(STAKE, block.timestamp - 1); // expired
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(registry), 0, STAKE)
        );
        vm.prank(alice);
        registry.contributeWithPermit(datanetId, "bafyp", 1, 1, block.timestamp - 1, v, r, s);
    }

    function test_contributeWithPermit_revertsOnUnknownDatanet() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownDatanet.selector, 0));
        vm.prank(alice);
        registry.contributeWithPermit(0, "bafyp", 1, 1, 0, 0, bytes32(0), bytes32(0));
    }

    function test_contributeWithPermit_runsContributeChecks() public {
        vm.expectRevert(IDatanetRegistry.EmptyCid.selector);
        vm.prank(alice);
        registry.contributeWithPermit(datanetId, "", 1, 1, 0, 0, bytes32(0), bytes32(0));
    }

    // ------------------------------------------------------------------ review

    function test_review_acceptKeepsStakeAndEmits() public {
        uint256 id = _contribute(alice, datanetId, 1);
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.ContributionReviewed(id, datanetId, curator, true, "bafyok", 0, 0);
        vm.prank(curator);
        registry.review(id, true, "bafyok");

        IDatanetRegistry.Contribution memory c = registry.getContribution(id);
        assertEq(uint8(c.status), uint8(IDatanetRegistry.ContributionStatus.Accepted));
        assertFalse(c.stakeReleased);
        assertEq(c.contributor, alice, "status write keeps its slot neighbours");
        assertEq(c.recordCount, 10);
        assertEq(registry.acceptedCount(datanetId), 1);
        assertEq(registry.getDatanet(datanetId).acceptedCount, 1);
        assertEq(registry.getDatanet(datanetId).contributionCount, 1);
        assertEq(token.balanceOf(address(registry)), STAKE);
        assertEq(registry.totalStakeHeld(), STAKE);
    }

    function test_review_rejectSplitsStakeAndEmits() public {
        uint256 id = _contribute(alice, datanetId, 1);
        uint256 slashed = (STAKE * SLASH_BPS) / 10_000;
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.ContributionReviewed(id, datanetId, curator, false, "bafyspam", slashed, STAKE - slashed);
        vm.prank(curator);
        registry.review(id, false, "bafyspam");

        IDatanetRegistry.Contribution memory c = registry.getContribution(id);
        assertEq(uint8(c.status), uint8(IDatanetRegistry.ContributionStatus.Rejected));
        assertTrue(c.stakeReleased);
        assertEq(token.balanceOf(treasury), slashed);
        assertEq(token.balanceOf(alice), FUNDS - slashed);
        assertEq(token.balanceOf(address(registry)), 0);
        assertEq(registry.totalStakeHeld(), 0);
        assertEq(registry.acceptedCount(datanetId), 0);
    }

    /// @dev The reason is not stored: the event carries it in full (and an empty one stays empty).
    function test_review_eventCarriesTheFullReason() public {
        uint256 first = _contribute(alice, datanetId, 1);
        uint256 second = _contribute(alice, datanetId, 2);
        string memory reason = string.concat(LONG_CID, LONG_CID);
        vm.recordLogs();
        vm.prank(curator);
        registry.review(first, false, reason);
        (uint256 id, string memory logged) = _reviewedReason(vm.getRecordedLogs());
        assertEq(id, first);
        assertEq(logged, reason);

        vm.recordLogs();
        vm.prank(curator);
        registry.review(second, true, "");
        (id, logged) = _reviewedReason(vm.getRecordedLogs());
        assertEq(id, second);
        assertEq(logged, "");
    }

    function test_review_rejectWithFullSlash() public {
        uint256 id = _contribute(alice, _createDatanet(_policy(STAKE, REVIEW, 10_000)), 1);
        _review(id, false);
        assertEq(token.balanceOf(treasury), STAKE);
        assertEq(token.balanceOf(alice), FUNDS - STAKE);
    }

    function test_review_revertsOnUnknownContribution() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownContribution.selector, 1));
        _review(1, true);
    }

    function test_review_revertsForNonCurator() public {
        uint256 id = _contribute(alice, datanetId, 1);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.NotCurator.selector, datanetId, owner));
        vm.prank(owner);
        registry.review(id, true, "");
    }

    function test_review_revertsForCuratorOfAnotherDatanetOrDisabled() public {
        vm.prank(stranger);
        uint256 other = registry.createDatanet("bafyother", treasury, _policy(STAKE, REVIEW, 0), new address[](0));
        vm.prank(stranger);
        registry.setCurator(other, bob, true);
        uint256 id = _contribute(alice, datanetId, 1);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.NotCurator.selector, datanetId, bob));
        vm.prank(bob);
        registry.review(id, true, "");

        vm.prank(owner);
        registry.setCurator(datanetId, curator, false);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.NotCurator.selector, datanetId, curator));
        _review(id, true);
    }

    function test_review_revertsWhenNotPending() public {
        uint256 accepted = _contribute(alice, datanetId, 1);
        _review(accepted, true);
        _expectNotPending(accepted, IDatanetRegistry.ContributionStatus.Accepted);

        uint256 rejected = _contribute(alice, datanetId, 2);
        _review(rejected, false);
        _expectNotPending(rejected, IDatanetRegistry.ContributionStatus.Rejected);

        uint256 withdrawn = _contribute(alice, datanetId, 3);
        vm.warp(block.timestamp + REVIEW);
        vm.prank(alice);
        registry.withdrawContribution(withdrawn);
        _expectNotPending(withdrawn, IDatanetRegistry.ContributionStatus.Withdrawn);
    }

    function _expectNotPending(uint256 id, IDatanetRegistry.ContributionStatus status) internal {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.ContributionNotPending.selector, id, status));
        _review(id, false);
    }

    function test_review_stillAllowedAfterReviewPeriodWhileNotWithdrawn() public {
        uint256 id = _contribute(alice, datanetId, 1);
        vm.warp(block.timestamp + REVIEW * 2);
        _review(id, true);
        assertEq(uint8(_status(id)), uint8(IDatanetRegistry.ContributionStatus.Accepted));
    }

    // ------------------------------------------------------------------ releaseStake

    function test_releaseStake_byAnyonePaysContributorOnce() public {
        uint256 id = _contribute(alice, datanetId, 1);
        _review(id, true);
        vm.warp(block.timestamp + REVIEW);
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.StakeReleased(id, alice, STAKE);
        vm.prank(stranger);
        registry.releaseStake(id);

        assertEq(token.balanceOf(alice), FUNDS);
        assertEq(token.balanceOf(stranger), 0);
        assertEq(token.balanceOf(address(registry)), 0);
        assertEq(registry.totalStakeHeld(), 0);
        assertTrue(registry.getContribution(id).stakeReleased);
        assertEq(uint8(_status(id)), uint8(IDatanetRegistry.ContributionStatus.Accepted));

        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.StakeAlreadyReleased.selector, id));
        registry.releaseStake(id);
    }

    function test_releaseStake_revertsOnUnknownContribution() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownContribution.selector, 0));
        registry.releaseStake(0);
    }

    function test_releaseStake_revertsWhenNotAccepted() public {
        uint256 id = _contribute(alice, datanetId, 1);
        vm.warp(block.timestamp + REVIEW);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDatanetRegistry.ContributionNotAccepted.selector, id, IDatanetRegistry.ContributionStatus.Pending
            )
        );
        registry.releaseStake(id);
        _review(id, false);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDatanetRegistry.ContributionNotAccepted.selector, id, IDatanetRegistry.ContributionStatus.Rejected
            )
        );
        registry.releaseStake(id);
    }

    function test_releaseStake_revertsBeforeReviewPeriodEnds() public {
        vm.warp(10_000);
        uint256 id = _contribute(alice, datanetId, 1);
        _review(id, true);
        vm.warp(10_000 + REVIEW - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDatanetRegistry.ReviewPeriodNotOver.selector, id, 10_000 + REVIEW, 10_000 + REVIEW - 1
            )
        );
        registry.releaseStake(id);
    }

    // ------------------------------------------------------------------ withdrawContribution

    function test_withdrawContribution_refundsAndEmits() public {
        uint256 id = _contribute(alice, datanetId, 1);
        vm.warp(block.timestamp + REVIEW);
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.ContributionWithdrawn(id, alice, STAKE);
        vm.prank(alice);
        registry.withdrawContribution(id);

        IDatanetRegistry.Contribution memory c = registry.getContribution(id);
        assertEq(uint8(c.status), uint8(IDatanetRegistry.ContributionStatus.Withdrawn));
        assertTrue(c.stakeReleased);
        assertEq(token.balanceOf(alice), FUNDS);
        assertEq(registry.totalStakeHeld(), 0);
    }

    function test_withdrawContribution_revertsOnUnknownContribution() public {
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.UnknownContribution.selector, 5));
        registry.withdrawContribution(5);
    }

    function test_withdrawContribution_revertsForNonContributor() public {
        uint256 id = _contribute(alice, datanetId, 1);
        vm.warp(block.timestamp + REVIEW);
        vm.expectRevert(abi.encodeWithSelector(IDatanetRegistry.NotContributor.selector, id, bob));
        vm.prank(bob);
        registry.withdrawContribution(id);
    }

    function test_withdrawContribution_revertsWhenReviewed() public {
        uint256 id = _contribute(alice, datanetId, 1);
        _review(id, true);
        vm.warp(block.timestamp + REVIEW);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDatanetRegistry.ContributionNotPending.selector, id, IDatanetRegistry.ContributionStatus.Accepted
            )
        );
        vm.prank(alice);
        registry.withdrawContribution(id);
    }

    function test_withdrawContribution_revertsBeforeReviewPeriodEnds() public {
        vm.warp(50_000);
        uint256 id = _contribute(alice, datanetId, 1);
        vm.expectRevert(
            abi.encodeWithSelector(IDatanetRegistry.ReviewPeriodNotOver.selector, id, 50_000 + REVIEW, 50_000)
        );
        vm.prank(alice);
        registry.withdrawContribution(id);
    }
}
