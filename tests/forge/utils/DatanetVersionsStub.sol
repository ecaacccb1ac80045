// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDatanetVersions} from "../../../contracts/interfaces/IDatanetVersions.sol";

/// @notice Stand-in for DatanetRegistry in model/reward unit tests: version counts set by the test.
contract DatanetVersionsStub is IDatanetVersions {
    mapping(uint256 datanetId => uint256) public versionCount;

    function setVersionCount(uint256 datanetId, uint256 count) external {
        versionCount[datanetId] = count;
    }
}
