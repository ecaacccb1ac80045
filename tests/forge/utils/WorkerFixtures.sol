// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ModelFixtures} from "./ModelFixtures.sol";

/// @notice ModelFixtures plus an EOA among the slashers fixed at deployment (`slasher`) and an address
///         to send slashed stake to (`sink`), so WorkerRegistry tests can slash and lock directly.
abstract contract WorkerFixtures is ModelFixtures {
    address internal slasher = makeAddr("slasher");
    address internal sink = makeAddr("sink");

    function _slashers() internal view virtual override returns (address[] memory list) {
        list = new address[](3);
        list[0] = address(models);
        list[1] = address(vault);
        list[2] = slasher;
    }
}
