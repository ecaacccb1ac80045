// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice ERC20 that calls back into a target during every transfer, to prove the registry's
///         token-moving functions are guarded by nonReentrant. The callback's revert data is bubbled up.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public callback;

    constructor() ERC20("Reentrant", "RE") {
        _mint(msg.sender, 1_000_000 ether);
    }

    function arm(address target_, bytes calldata callback_) external {
        target = target_;
        callback = callback_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address t = target;
        if (t == address(0)) return;
        target = address(0); // one shot
        (bool ok, bytes memory ret) = t.call(callback);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
