// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title OpenTimelock
/// @notice The protocol's timelock and treasury: holds GOVERNANCE_ROLE and DEFAULT_ADMIN_ROLE of every
///         registry and executes what {OpenGovernor} queued once `minDelay` has passed.
/// @dev Plain OpenZeppelin TimelockController. Deployment gives the governor PROPOSER_ROLE and
///      CANCELLER_ROLE, opens EXECUTOR_ROLE to anyone (address(0)) and renounces the deployer's admin.
contract OpenTimelock is TimelockController {
    /// @notice Deploy the timelock.
    /// @param minDelay seconds between queueing and execution.
    /// @param proposers accounts given PROPOSER_ROLE and CANCELLER_ROLE.
    /// @param executors accounts given EXECUTOR_ROLE (address(0): anyone may execute).
    /// @param admin optional extra admin for setup (address(0) for none); should renounce afterwards.
    /// @dev Emits RoleGranted for each grant and MinDelayChange(0, minDelay).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
