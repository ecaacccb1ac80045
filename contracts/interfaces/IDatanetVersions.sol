// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDatanetVersions
/// @notice The one thing ModelRegistry needs from DatanetRegistry: how many versions a datanet has.
/// @dev A version id `v` of datanet `d` exists iff `1 <= v <= versionCount(d)`. Kept separate from
///      IDatanetRegistry so the model side depends on the smallest possible surface.
interface IDatanetVersions {
    /// @notice Number of versions published for `datanetId` (0 for a datanet without versions).
    function versionCount(uint256 datanetId) external view returns (uint256);
}
