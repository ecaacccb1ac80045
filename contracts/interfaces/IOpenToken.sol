// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IOpenToken
/// @notice Errors of the OPEN token beyond OpenZeppelin's ERC20/ERC20Permit/ERC20Votes ones.
interface IOpenToken {
    /// @notice The fixed supply minted at deployment must be positive.
    error InvalidInitialSupply(uint256 supply);
}
