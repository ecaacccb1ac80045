// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {ModelFixtures} from "../utils/ModelFixtures.sol";

/// @notice Governance parameters of ModelRegistry: setters, their bounds and who may call them.
contract ModelRegistryGovernanceTest is ModelFixtures {
    // ------------------------------------------------------------------ governance

    function test_setters_updateAndEmit() public {
        vm.startPrank(gov);
        vm.expectEmit(address(models));
        emit IModelRegistry.LeaseDurationSet(2 hours);
        models.setLeaseDuration(2 hours);
        vm.expectEmit(address(models));
        emit IChallengeSettlement.ChallengeWindowSet(3 hours);
        models.setChallengeWindow(3 hours);
        vm.expectEmit(address(models));
        emit IChallengeSettlement.ChallengeBondSet(4 ether);
        models.setChallengeBond(4 ether);
        vm.expectEmit(address(models));
        emit IChallengeSettlement.SlashAmountSet(5 ether);
        models.setSlashAmount(5 ether);
        vm.expectEmit(address(models));
        emit IChallengeSettlement.ChallengerRewardBpsSet(10_000);
        models.setChallengerRewardBps(10_000);
        vm.expectEmit(address(models));
        emit IChallengeSettlement.TreasurySet(stranger);
        models.setTreasury(stranger);
        vm.expectEmit(address(models));
        emit IModelRegistry.MaxLeaseTimeSet(6 hours);
        models.setMaxLeaseTime(6 hours);
        vm.expectEmit(address(models));
        emit IModelRegistry.JobDeadlineSet(2 days);
        models.setJobDeadline(2 days);
        vm.expectEmit(address(models));
        emit IChallengeSettlement.RulingPeriodSet(4 days);
        models.setRulingPeriod(4 days);
        vm.expectEmit(address(models));
        emit IChallengeSettlement.CollateralBpsSet(20_000);
        models.setCollateralBps(20_000);
        vm.stopPrank();
        IModelRegistry.Params memory p = models.params();
        assertEq(p.leaseDuration, 2 hours);
        assertEq(p.challengeWindow, 3 hours);
        assertEq(p.challengeBond, 4 ether);
        assertEq(p.slashAmount, 5 ether);
        assertEq(p.challengerRewardBps, 10_000);
        assertEq(p.treasury, stranger);
        assertEq(p.maxLeaseTime, 6 hours);
        assertEq(p.jobDeadline, 2 days);
        assertEq(p.rulingPeriod, 4 days);
        assertEq(p.collateralBps, 20_000);
        assertEq(models.maxLeaseTime(), 6 hours);
        assertEq(models.jobDeadline(), 2 days);
        assertEq(models.rulingPeriod(), 4 days);
        assertEq(models.collateralBps(), 20_000);
    }

    function test_setters_revertOnBadValues() public {
        uint64 maxWindow = models.MAX_WINDOW();
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, 0, maxWindow));
        models.setLeaseDuration(0);
        vm.expectRevert(
            abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, maxWindow + 1, maxWindow)
        );
        models.setLeaseDuration(maxWindow + 1);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, 0, maxWindow));
        models.setChallengeWindow(0);
        vm.expectRevert(
            abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, maxWindow + 1, maxWindow)
        );
        models.setChallengeWindow(maxWindow + 1);
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        models.setChallengeBond(0);
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        models.setSlashAmount(0);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.BpsOutOfRange.selector, 10_001));
        models.setChallengerRewardBps(10_001);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        models.setTreasury(address(0));
        vm.stopPrank();
    }

    function test_windowSetters_acceptBoundsRejectOutside() public {
        uint64 maxWindow = models.MAX_WINDOW();
        bytes memory zero = abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, 0, maxWindow);
        bytes memory above =
            abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, maxWindow + 1, maxWindow);
        vm.startPrank(gov);
        vm.expectRevert(zero);
        models.setMaxLeaseTime(0);
        vm.expectRevert(above);
        models.setMaxLeaseTime(maxWindow + 1);
        vm.expectRevert(zero);
        models.setJobDeadline(0);
        vm.expectRevert(above);
        models.setJobDeadline(maxWindow + 1);
        vm.expectRevert(zero);
        models.setRulingPeriod(0);
        vm.expectRevert(above);
        models.setRulingPeriod(maxWindow + 1);
        models.setMaxLeaseTime(1);
        models.setJobDeadline(1);
        models.setRulingPeriod(1);
        assertEq(models.maxLeaseTime(), 1);
        assertEq(models.jobDeadline(), 1);
        assertEq(models.rulingPeriod(), 1);
        models.setMaxLeaseTime(maxWindow);
        models.setJobDeadline(maxWindow);
        models.setRulingPeriod(maxWindow);
        vm.stopPrank();
        IModelRegistry.Params memory p = models.params();
        assertEq(p.maxLeaseTime, maxWindow);
        assertEq(p.jobDeadline, maxWindow);
        assertEq(p.rulingPeriod, maxWindow);
    }

    /// @dev The collateral ratio stays within 1x..5x the value posted work controls.
    function test_setCollateralBps_bounds() public {
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.BpsOutOfRange.selector, 9_999));
        models.setCollateralBps(9_999);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.BpsOutOfRange.selector, 0));
        models.setCollateralBps(0);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.BpsOutOfRange.selector, 50_001));
        models.setCollateralBps(50_001);
        models.setCollateralBps(10_000);
        assertEq(models.collateralBps(), 10_000);
        models.setCollateralBps(50_000);
        assertEq(models.collateralBps(), 50_000);
        vm.stopPrank();
    }

    function testFuzz_setCollateralBps_onlyWithinOneToFiveTimes(uint16 bps) public {
        if (bps < 10_000 || bps > 50_000) {
            vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.BpsOutOfRange.selector, bps));
        }
        vm.prank(gov);
        models.setCollateralBps(bps);
        assertEq(models.collateralBps(), bps >= 10_000 && bps <= 50_000 ? bps : COLLATERAL_BPS);
    }

    function test_setters_revertForNonGovernance() public {
        bytes32 role = models.GOVERNANCE_ROLE();
        bytes memory err =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role);
        vm.startPrank(stranger);
        vm.expectRevert(err);
        models.setLeaseDuration(1);
        vm.expectRevert(err);
        models.setChallengeWindow(1);
        vm.expectRevert(err);
        models.setChallengeBond(1);
        vm.expectRevert(err);
        models.setSlashAmount(1);
        vm.expectRevert(err);
        models.setChallengerRewardBps(1);
        vm.expectRevert(err);
        models.setTreasury(stranger);
        vm.expectRevert(err);
        models.setMaxLeaseTime(1);
        vm.expectRevert(err);
        models.setJobDeadline(1);
        vm.expectRevert(err);
        models.setRulingPeriod(1);
        vm.expectRevert(err);
        models.setCollateralBps(20_000);
        vm.stopPrank();
    }
}
