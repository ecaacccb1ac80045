// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ModelFixtures} from "./ModelFixtures.sol";

/// @notice ModelFixtures plus an EOA holding the WorkerRegistry's SLASHER_ROLE (`slasher`) and an address
///         to send slashed stake to (`sink`), so WorkerRegistry tests can slash and lock directly.
abstract contract WorkerFixtures is ModelFixtures {
    address internal slasher = makeAddr("slasher");
    address internal sink = makeAddr("sink");

    function setUp() public virtual override {
        super.setUp();
        bytes32 role = workers.SLASHER_ROLE();
        vm.prank(gov);
        workers.grantRole(role, slasher);
    }
}
