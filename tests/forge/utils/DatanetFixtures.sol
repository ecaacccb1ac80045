// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";
import {DatanetRegistry} from "../../../contracts/datanet/DatanetRegistry.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";

/// @notice Shared deployment for DatanetRegistry tests: OPEN token, registry administered by `admin`,
///         one datanet (owner, treasury, one curator) and two funded contributors that approved the registry.
abstract contract DatanetFixtures is Test {
    uint256 internal constant SUPPLY = 1_000_000_000 ether;
    uint256 internal constant FUNDS = 1_000 ether;
    uint256 internal constant STAKE = 10 ether;
    uint64 internal constant REVIEW = 3 days;
    uint16 internal constant SLASH_BPS = 2_500;

    OpenToken internal token;
    DatanetRegistry internal registry;

    address internal admin = makeAddr("admin");
    address internal owner = makeAddr("owner");
    address internal treasury = makeAddr("treasury");
    address internal curator = makeAddr("curator");
    address internal stranger = makeAddr("stranger");
    address internal alice;
    uint256 internal aliceKey;
    address internal bob = makeAddr("bob");

    uint256 internal datanetId;

    function setUp() public virtual {
        (alice, aliceKey) = makeAddrAndKey("alice");
        token = new OpenToken(address(this), SUPPLY);
        registry = new DatanetRegistry(token, admin);
        _fund(alice);
        _fund(bob);
        datanetId = _createDatanet(_policy(STAKE, REVIEW, SLASH_BPS));
    }

    function _fund(address account) internal {
        token.transfer(account, FUNDS);
        vm.prank(account);
        token.approve(address(registry), type(uint256).max);
    }

    function _policy(uint256 stake, uint64 reviewPeriod, uint16 slashBps)
        internal
        pure
        returns (IDatanetRegistry.Policy memory)
    {
        return IDatanetRegistry.Policy({stakePerContribution: stake, reviewPeriod: reviewPeriod, slashBps: slashBps});
    }

    function _curators() internal view returns (address[] memory list) {
        list = new address[](1);
        list[0] = curator;
    }

    function _createDatanet(IDatanetRegistry.Policy memory policy) internal returns (uint256 id) {
        vm.prank(owner);
        id = registry.createDatanet("bafymeta", treasury, policy, _curators());
    }

    function _cid(uint256 n) internal pure returns (string memory) {
        return string.concat("bafkreicontent", vm.toString(n));
    }

    function _contribute(address who, uint256 dnId, uint256 n) internal returns (uint256 id) {
        vm.prank(who);
        id = registry.contribute(dnId, _cid(n), 1024, 10);
    }

    function _review(uint256 contributionId, bool accept) internal {
        vm.prank(curator);
        registry.review(contributionId, accept, "bafyreason");
    }

    function _status(uint256 contributionId) internal view returns (IDatanetRegistry.ContributionStatus) {
        return registry.getContribution(contributionId).status;
    }
}
