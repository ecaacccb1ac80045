// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {ModelFixtures} from "./ModelFixtures.sol";

/// @notice A job with a submitted result in its challenge window, and the steps the result and challenge
///         suites take on it.
abstract contract SubmittedJobFixtures is ModelFixtures {
    uint256 internal modelId;
    uint256 internal jobId;
    uint64 internal deadline;

    function setUp() public virtual override {
        super.setUp();
        (modelId, jobId) = _submittedJob();
        deadline = models.getJob(jobId).challengeDeadline;
    }

    function _challenge() internal {
        vm.prank(challenger);
        models.challengeResult(jobId, "bafyreason");
    }

    function _resolve(bool upheld) internal {
        vm.prank(gov);
        models.resolveChallenge(jobId, upheld);
    }

    function _expectStatus(IModelRegistry.JobStatus status) internal {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.InvalidJobStatus.selector, jobId, status));
    }
}
