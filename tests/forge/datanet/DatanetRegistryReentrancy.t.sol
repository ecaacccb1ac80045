// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {DatanetRegistry} from "../../../contracts/datanet/DatanetRegistry.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";
import {ReentrantToken} from "./mocks/ReentrantToken.sol";

/// @notice A token that re-enters the registry during a transfer hits ReentrancyGuardReentrantCall.
contract DatanetRegistryReentrancyTest is Test {
    ReentrantToken internal token;
    DatanetRegistry internal registry;
    address internal owner = makeAddr("owner");
    address internal treasury = makeAddr("treasury");
    uint256 internal datanetId;
    uint256 internal first;

    function setUp() public {
        token = new ReentrantToken();
        registry = new DatanetRegistry(token, address(this));
        address[] memory curators = new address[](1);
        curators[0] = address(this);
        vm.prank(owner);
        datanetId = registry.createDatanet(
            "bafymeta",
            treasury,
            IDatanetRegistry.Policy({stakePerContribution: 1 ether, reviewPeriod: 0, slashBps: 5_000}),
            curators
        );
        token.approve(address(registry), type(uint256).max);
        first = registry.contribute(datanetId, "bafy1", 1, 1);
        registry.contribute(datanetId, "bafy2", 1, 1);
        registry.review(first, true, "");
    }

    function _armAndExpect(bytes memory callback) internal {
        token.arm(address(registry), callback);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
    }

    function test_contribute_cannotBeReentered() public {
        _armAndExpect(abi.encodeCall(registry.releaseStake, (first)));
        registry.contribute(datanetId, "bafy3", 1, 1);
    }

    function test_releaseStake_cannotBeReentered() public {
        _armAndExpect(abi.encodeCall(registry.releaseStake, (first)));
        registry.releaseStake(first);
    }

    function test_review_cannotBeReentered() public {
        _armAndExpect(abi.encodeCall(registry.withdrawContribution, (2)));
        registry.review(2, false, "");
    }

    function test_withdrawContribution_cannotBeReentered() public {
        _armAndExpect(abi.encodeCall(registry.contribute, (datanetId, "bafy9", 1, 1)));
        registry.withdrawContribution(2);
    }

    function test_contributeWithPermit_cannotBeReentered() public {
        _armAndExpect(abi.encodeCall(registry.releaseStake, (first)));
        registry.contributeWithPermit(datanetId, "bafy4", 1, 1, 0, 0, bytes32(0), bytes32(0));
    }
}
