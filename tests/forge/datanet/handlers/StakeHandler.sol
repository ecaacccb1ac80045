// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {OpenToken} from "../../../../contracts/token/OpenToken.sol";
import {DatanetRegistry} from "../../../../contracts/datanet/DatanetRegistry.sol";
import {IDatanetRegistry} from "../../../../contracts/interfaces/IDatanetRegistry.sol";

/// @notice Drives the stake money path of DatanetRegistry with random actors, ids and times, including
///         calls that should fail (double release, wrong caller, too early). Every payout that actually
///         happened is measured from balance deltas and recorded in ghost variables.
contract StakeHandler is Test {
    OpenToken public immutable token;
    DatanetRegistry public immutable registry;

    uint256 public constant ACTORS = 4;
    uint256 public constant MAX_DATANETS = 4;
    uint256 internal constant ACTOR_FUNDS = 10_000 ether;

    address[] public actors;
    address[] public treasuries;
    address public curator = makeAddr("handler-curator");
    address public outsider = makeAddr("handler-outsider");

    // ghost accounting
    uint256 public ghostDeposited;
    uint256 public ghostPaidOut;
    mapping(uint256 contributionId => uint256) public payouts;
    mapping(uint256 contributionId => uint256) public paidAmount;
    mapping(uint256 contributionId => uint256) public slashedAmount;
    mapping(uint256 contributionId => uint256) public refundedAmount;
    mapping(bytes4 selector => uint256) public successes;
    /// @dev The CID each successful submission sent (the registry keeps only its hash, in the key).
    mapping(uint256 contributionId => string) public cidOf;

    constructor(OpenToken token_, DatanetRegistry registry_) {
        token = token_;
        registry = registry_;
        for (uint256 i = 0; i < ACTORS; ++i) {
            actors.push(makeAddr(string.concat("actor", vm.toString(i))));
            treasuries.push(makeAddr(string.concat("treasury", vm.toString(i))));
        }
    }

    /// @dev Called once by the test after funding this handler.
    function fundActors() external {
        for (uint256 i = 0; i < ACTORS; ++i) {
            require(token.transfer(actors[i], ACTOR_FUNDS), "fund");
            vm.prank(actors[i]);
            token.approve(address(registry), type(uint256).max);
        }
    }

    function actorCount() external pure returns (uint256) {
        return ACTORS;
    }

    // ------------------------------------------------------------------ actions

    function createDatanet(uint256 stake, uint64 reviewPeriod, uint16 slashBps, uint256 seed) external {
        if (registry.datanetCount() >= MAX_DATANETS) return;
        stake = bound(stake, 0, 100 ether);
        reviewPeriod = uint64(bound(reviewPeriod, 0, 7 days));
        slashBps = uint16(bound(slashBps, 0, 10_000));
        address[] memory curators = new address[](1);
        curators[0] = curator;
        IDatanetRegistry.Policy memory policy = IDatanetRegistry.Policy(stake, reviewPeriod, slashBps);
        vm.prank(actors[seed % ACTORS]);
        registry.createDatanet("bafymeta", treasuries[seed % ACTORS], policy, curators);
    }

    function contribute(uint256 actorSeed, uint256 datanetSeed, uint8 cidSeed) external {
        uint256 count = registry.datanetCount();
        if (count == 0) return;
        uint256 dnId = 1 + (datanetSeed % count);
        address actor = actors[actorSeed % ACTORS];
        // Few distinct CIDs so duplicates are exercised.
        string memory cid = string.concat("bafycid", vm.toString(cidSeed % 16));
        uint256 before = token.balanceOf(actor);
        vm.prank(actor);
        try registry.contribute(dnId, cid, 100, 1) returns (uint256 id) {
            cidOf[id] = cid;
            ghostDeposited += before - token.balanceOf(actor);
            ++successes[this.contribute.selector];
        } catch {}
    }

    function contributeWithBadPermit(uint256 actorSeed, uint256 datanetSeed, uint8 cidSeed) external {
        uint256 count = registry.datanetCount();
        if (count == 0) return;
        address actor = actors[actorSeed % ACTORS];
        string memory cid = string.concat("bafycid", vm.toString(cidSeed % 16));
        uint256 before = token.balanceOf(actor);
        vm.prank(actor);
        try registry.contributeWithPermit(
            1 + (datanetSeed % count), cid, 100, 1, 0, 27, bytes32(0), bytes32(0)
        ) returns (
            uint256 id
        ) {
            cidOf[id] = cid;
            ghostDeposited += before - token.balanceOf(actor);
            ++successes[this.contributeWithBadPermit.selector];
        } catch {}
    }

    function review(uint256 contributionSeed, bool accept, uint8 callerSeed) external {
        (uint256 id, IDatanetRegistry.Contribution memory c) =
            _pick(contributionSeed, IDatanetRegistry.ContributionStatus.Pending);
        if (id == 0) return;
        address treasury = registry.getDatanet(c.datanetId).treasury;
        uint256 treasuryBefore = token.balanceOf(treasury);
        uint256 contributorBefore = token.balanceOf(c.contributor);
        vm.prank(callerSeed % 8 == 7 ? outsider : curator);
        try registry.review(id, accept, "bafyreason") {
            ++successes[this.review.selector];
            if (accept) return;
            uint256 slashed = token.balanceOf(treasury) - treasuryBefore;
            uint256 refunded = token.balanceOf(c.contributor) - contributorBefore;
            slashedAmount[id] += slashed;
            refundedAmount[id] += refunded;
            _recordPayout(id, slashed + refunded);
        } catch {}
    }

    function releaseStake(uint256 contributionSeed, uint256 callerSeed) external {
        (uint256 id, IDatanetRegistry.Contribution memory c) =
            _pick(contributionSeed, IDatanetRegistry.ContributionStatus.Accepted);
        if (id == 0) return;
        vm.warp(block.timestamp + (callerSeed % 2 days)); // stakes wait for their review period
        uint256 before = token.balanceOf(c.contributor);
        vm.prank(callerSeed % 2 == 0 ? outsider : actors[callerSeed % ACTORS]);
        try registry.releaseStake(id) {
            ++successes[this.releaseStake.selector];
            _recordPayout(id, token.balanceOf(c.contributor) - before);
        } catch {}
    }

    function withdrawContribution(uint256 contributionSeed, uint256 callerSeed) external {
        (uint256 id, IDatanetRegistry.Contribution memory c) =
            _pick(contributionSeed, IDatanetRegistry.ContributionStatus.Pending);
        if (id == 0) return;
        address caller = callerSeed % 3 == 0 ? actors[callerSeed % ACTORS] : c.contributor;
        uint256 before = token.balanceOf(caller);
        vm.prank(caller);
        try registry.withdrawContribution(id) {
            ++successes[this.withdrawContribution.selector];
            _recordPayout(id, token.balanceOf(caller) - before);
        } catch {}
    }

    function warp(uint32 secondsForward) external {
        vm.warp(block.timestamp + bound(secondsForward, 0, 4 days));
    }

    // ------------------------------------------------------------------ helpers

    /// @dev Usually the first contribution at or after a random index whose status is `wanted` (so the
    ///      happy paths are reached); one call in four takes the random id as is, whatever its status, so
    ///      double releases, reviews of reviewed contributions, etc. are attempted too.
    function _pick(uint256 seed, IDatanetRegistry.ContributionStatus wanted)
        internal
        view
        returns (uint256 id, IDatanetRegistry.Contribution memory c)
    {
        uint256 count = registry.contributionCount();
        if (count == 0) return (0, c);
        uint256 start = seed % count;
        id = 1 + start;
        c = registry.getContribution(id);
        if ((seed >> 128) % 4 == 0) return (id, c);
        for (uint256 i = 0; i < count; ++i) {
            uint256 candidate = 1 + ((start + i) % count);
            IDatanetRegistry.Contribution memory cc = registry.getContribution(candidate);
            if (cc.status == wanted && !cc.stakeReleased) return (candidate, cc);
        }
    }

    function _recordPayout(uint256 id, uint256 amount) internal {
        ++payouts[id];
        paidAmount[id] += amount;
        ghostPaidOut += amount;
    }
}
