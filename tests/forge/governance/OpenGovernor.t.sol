// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {
    GovernorVotesQuorumFraction
} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";
import {OpenGovernor} from "../../../contracts/governance/OpenGovernor.sol";
import {OpenTimelock} from "../../../contracts/governance/OpenTimelock.sol";
import {DatanetRegistry} from "../../../contracts/datanet/DatanetRegistry.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";

/// @notice Token voting + timelock owning DatanetRegistry, deployed as PROTOCOL.md describes.
contract OpenGovernorTest is Test {
    uint256 internal constant SUPPLY = 1_000_000 ether;
    uint256 internal constant MIN_DELAY = 2 days;
    uint48 internal constant VOTING_DELAY = 1; // blocks
    uint32 internal constant VOTING_PERIOD = 50; // blocks
    uint256 internal constant THRESHOLD = 1_000 ether;
    uint256 internal constant QUORUM_PERCENT = 4;

    OpenToken internal token;
    OpenTimelock internal timelock;
    OpenGovernor internal governor;
    DatanetRegistry internal registry;

    address internal whale = makeAddr("whale"); // 30 % of supply
    address internal minnow = makeAddr("minnow"); // 2 %: below quorum alone
    address internal opponent = makeAddr("opponent"); // 35 %
    address internal council = makeAddr("council");
    address internal anyone = makeAddr("anyone");

    function setUp() public {
        token = new OpenToken(address(this), SUPPLY);
        address[] memory none = new address[](0);
        address[] memory openExecutor = new address[](1); // address(0): anyone may execute
        timelock = new OpenTimelock(MIN_DELAY, none, openExecutor, address(this));
        governor = new OpenGovernor(token, timelock, VOTING_DELAY, VOTING_PERIOD, THRESHOLD, QUORUM_PERCENT);
        timelock.grantRole(timelock.PROPOSER_ROLE(), address(governor));
        timelock.grantRole(timelock.CANCELLER_ROLE(), address(governor));
        timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), address(this));
        registry = new DatanetRegistry(token, address(timelock));

        _giveVotes(whale, (SUPPLY * 30) / 100);
        _giveVotes(minnow, (SUPPLY * 2) / 100);
        _giveVotes(opponent, (SUPPLY * 35) / 100);
        vm.roll(block.number + 1);
    }

    function _giveVotes(address who, uint256 amount) internal {
        token.transfer(who, amount);
        vm.prank(who);
        token.delegate(who);
    }

    struct Proposal {
        address[] targets;
        uint256[] values;
        bytes[] calldatas;
        string description;
    }

    function _single(address target, bytes memory data, string memory description)
        internal
        pure
        returns (Proposal memory p)
    {
        p.targets = new address[](1);
        p.targets[0] = target;
        p.values = new uint256[](1);
        p.calldatas = new bytes[](1);
        p.calldatas[0] = data;
        p.description = description;
    }

    function _propose(address proposer, Proposal memory p) internal returns (uint256 id) {
        vm.prank(proposer);
        id = governor.propose(p.targets, p.values, p.calldatas, p.description);
    }

    function _voteAndClose(uint256 id, address voter, uint8 support) internal {
        vm.roll(governor.proposalSnapshot(id) + 1);
        assertEq(uint8(governor.state(id)), uint8(IGovernor.ProposalState.Active));
        vm.prank(voter);
        governor.castVote(id, support);
        vm.roll(governor.proposalDeadline(id) + 1);
    }

    function _queue(Proposal memory p) internal returns (uint256) {
        return governor.queue(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
    }

    function _execute(Proposal memory p) internal returns (uint256) {
        return governor.execute(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
    }

    // ------------------------------------------------------------------ deployment

    function test_deployment_wiring() public view {
        assertEq(governor.name(), "OpenGovernor");
        assertEq(address(governor.token()), address(token));
        assertEq(governor.timelock(), address(timelock));
        assertEq(governor.votingDelay(), VOTING_DELAY);
        assertEq(governor.votingPeriod(), VOTING_PERIOD);
        assertEq(governor.proposalThreshold(), THRESHOLD);
        assertEq(governor.quorumNumerator(), QUORUM_PERCENT);
        assertEq(governor.quorum(block.number - 1), (SUPPLY * QUORUM_PERCENT) / 100);
        assertEq(governor.CLOCK_MODE(), "mode=blocknumber&from=default");
        assertTrue(governor.proposalNeedsQueuing(0));
        assertEq(timelock.getMinDelay(), MIN_DELAY);
        assertTrue(timelock.hasRole(timelock.PROPOSER_ROLE(), address(governor)));
        assertTrue(timelock.hasRole(timelock.CANCELLER_ROLE(), address(governor)));
        assertTrue(timelock.hasRole(timelock.EXECUTOR_ROLE(), address(0)));
        assertFalse(timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), address(this)));
        assertTrue(registry.hasRole(registry.GOVERNANCE_ROLE(), address(timelock)));
        assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), address(timelock)));
    }

    function test_constructor_revertsOnBadSettings() public {
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorInvalidVotingPeriod.selector, 0));
        new OpenGovernor(token, timelock, VOTING_DELAY, 0, THRESHOLD, QUORUM_PERCENT);
        vm.expectRevert(
            abi.encodeWithSelector(GovernorVotesQuorumFraction.GovernorInvalidQuorumFraction.selector, 101, 100)
        );
        new OpenGovernor(token, timelock, VOTING_DELAY, VOTING_PERIOD, THRESHOLD, 101);
    }

    // ------------------------------------------------------------------ full lifecycle

    function test_proposal_changesRegistryParameterAndRole_throughTimelock() public {
        Proposal memory p = _single(
            address(registry), abi.encodeCall(registry.setMaxReviewPeriod, (90 days)), "raise max review period"
        );
        p.targets = _append(p.targets, address(registry));
        p.values = new uint256[](2);
        p.calldatas =
            _appendBytes(p.calldatas, abi.encodeCall(IAccessControl.grantRole, (registry.GOVERNANCE_ROLE(), council)));

        uint256 id = _propose(whale, p);
        assertEq(uint8(governor.state(id)), uint8(IGovernor.ProposalState.Pending));
        assertEq(governor.proposalSnapshot(id), block.number + VOTING_DELAY);

        _voteAndClose(id, whale, 1);
        assertEq(uint8(governor.state(id)), uint8(IGovernor.ProposalState.Succeeded));
        (uint256 against, uint256 forVotes, uint256 abstain) = governor.proposalVotes(id);
        assertEq(forVotes, (SUPPLY * 30) / 100);
        assertEq(against + abstain, 0);

        assertEq(_queue(p), id);
        uint256 eta = governor.proposalEta(id);
        assertEq(eta, block.timestamp + MIN_DELAY);
        assertEq(uint8(governor.state(id)), uint8(IGovernor.ProposalState.Queued));

        bytes32 opId = timelock.hashOperationBatch(
            p.targets, p.values, p.calldatas, 0, bytes20(address(governor)) ^ keccak256(bytes(p.description))
        );
        vm.expectRevert(
            abi.encodeWithSelector(
                TimelockController.TimelockUnexpectedOperationState.selector,
                opId,
                bytes32(uint256(1) << 2) // Ready
            )
        );
        _execute(p);

        vm.warp(eta);
        vm.expectEmit(address(registry));
        emit IDatanetRegistry.MaxReviewPeriodSet(registry.DEFAULT_MAX_REVIEW_PERIOD(), 90 days);
        vm.prank(anyone); // executor role is open
        _execute(p);

        assertEq(uint8(governor.state(id)), uint8(IGovernor.ProposalState.Executed));
        assertEq(registry.maxReviewPeriod(), 90 days);
        assertTrue(registry.hasRole(registry.GOVERNANCE_ROLE(), council));

        vm.prank(council); // the new role holder can act directly
        registry.setMaxReviewPeriod(10 days);
        assertEq(registry.maxReviewPeriod(), 10 days);
    }

    function test_proposal_canChangeGovernorSettings() public {
        Proposal memory p = _single(address(governor), abi.encodeCall(governor.setVotingPeriod, (100)), "longer voting");
        uint256 id = _propose(whale, p);
        _voteAndClose(id, whale, 1);
        _queue(p);
        vm.warp(block.timestamp + MIN_DELAY);
        _execute(p);
        assertEq(governor.votingPeriod(), 100);
    }

    // ------------------------------------------------------------------ failures

    function test_proposal_defeatedWithoutQuorum() public {
        Proposal memory p = _single(address(registry), abi.encodeCall(registry.setMaxReviewPeriod, (1 days)), "q");
        uint256 id = _propose(minnow, p);
        _voteAndClose(id, minnow, 1);
        assertEq(uint8(governor.state(id)), uint8(IGovernor.ProposalState.Defeated));
        vm.expectPartialRevert(IGovernor.GovernorUnexpectedProposalState.selector);
        _queue(p);
    }

    function test_proposal_defeatedWhenAgainstWins() public {
        Proposal memory p = _single(address(registry), abi.encodeCall(registry.setMaxReviewPeriod, (1 days)), "a");
        uint256 id = _propose(whale, p);
        vm.roll(governor.proposalSnapshot(id) + 1);
        vm.prank(whale);
        governor.castVote(id, 1);
        vm.prank(opponent);
        governor.castVote(id, 0);
        vm.roll(governor.proposalDeadline(id) + 1);
        assertEq(uint8(governor.state(id)), uint8(IGovernor.ProposalState.Defeated));
        assertEq(registry.maxReviewPeriod(), registry.DEFAULT_MAX_REVIEW_PERIOD());
    }

    function test_propose_revertsBelowThreshold() public {
        Proposal memory p = _single(address(registry), abi.encodeCall(registry.setMaxReviewPeriod, (1 days)), "t");
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, anyone, 0, THRESHOLD)
        );
        _propose(anyone, p);
    }

    function test_castVote_twiceReverts() public {
        Proposal memory p = _single(address(registry), abi.encodeCall(registry.setMaxReviewPeriod, (1 days)), "d");
        uint256 id = _propose(whale, p);
        vm.roll(governor.proposalSnapshot(id) + 1);
        vm.startPrank(whale);
        governor.castVote(id, 1);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorAlreadyCastVote.selector, whale));
        governor.castVote(id, 1);
        vm.stopPrank();
    }

    function test_votesBoughtAfterSnapshotDoNotCount() public {
        Proposal memory p = _single(address(registry), abi.encodeCall(registry.setMaxReviewPeriod, (1 days)), "s");
        uint256 id = _propose(whale, p);
        vm.roll(governor.proposalSnapshot(id) + 1);
        _giveVotes(anyone, (SUPPLY * 10) / 100);
        vm.prank(anyone);
        governor.castVote(id, 1);
        (, uint256 forVotes,) = governor.proposalVotes(id);
        assertEq(forVotes, 0);
    }

    function test_proposerCanCancelWhilePending() public {
        Proposal memory p = _single(address(registry), abi.encodeCall(registry.setMaxReviewPeriod, (1 days)), "c");
        uint256 id = _propose(whale, p);
        vm.prank(whale);
        governor.cancel(p.targets, p.values, p.calldatas, keccak256(bytes(p.description)));
        assertEq(uint8(governor.state(id)), uint8(IGovernor.ProposalState.Canceled));
    }

    function test_directCallsBypassingGovernanceRevert() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, whale, registry.GOVERNANCE_ROLE()
            )
        );
        vm.prank(whale);
        registry.setMaxReviewPeriod(1 days);

        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, whale));
        vm.prank(whale);
        governor.setVotingPeriod(1);

        bytes32 proposer = timelock.PROPOSER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, whale, proposer)
        );
        vm.prank(whale);
        timelock.schedule(address(registry), 0, "", bytes32(0), bytes32(0), MIN_DELAY);
    }

    // ------------------------------------------------------------------ helpers

    function _append(address[] memory a, address x) internal pure returns (address[] memory out) {
        out = new address[](a.length + 1);
        for (uint256 i = 0; i < a.length; ++i) {
            out[i] = a[i];
        }
        out[a.length] = x;
    }

    function _appendBytes(bytes[] memory a, bytes memory x) internal pure returns (bytes[] memory out) {
        out = new bytes[](a.length + 1);
        for (uint256 i = 0; i < a.length; ++i) {
            out[i] = a[i];
        }
        out[a.length] = x;
    }
}
