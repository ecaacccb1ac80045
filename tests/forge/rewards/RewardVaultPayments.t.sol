// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {RewardVault} from "../../../contracts/rewards/RewardVault.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {VaultFixtures} from "../utils/VaultFixtures.sol";

/// @notice Inference payments, the fee split, withdrawals and governance of RewardVault.
contract RewardVaultPaymentsTest is VaultFixtures {
    // ------------------------------------------------------------------ constructor

    function test_constructor_setsRolesAndDefaults() public view {
        assertTrue(vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), gov));
        assertTrue(vault.hasRole(vault.GOVERNANCE_ROLE(), gov));
        assertEq(address(vault.token()), address(token));
        assertEq(address(vault.modelRegistry()), address(models));
        assertEq(address(vault.workerRegistry()), address(workers));
        assertEq(vault.treasury(), treasury);
        assertEq(vault.challengeWindow(), WINDOW);
        assertEq(vault.challengeBond(), BOND);
        assertEq(vault.slashAmount(), SLASH);
        assertEq(vault.challengerRewardBps(), 5_000);
        assertEq(vault.rulingPeriod(), RULING);
        assertEq(vault.collateralBps(), COLLATERAL_BPS);
        assertEq(vault.claimPeriod(), CLAIM_PERIOD);
        assertEq(vault.paymentCount(), 0);
        IRewardVault.FeeSplit memory s = vault.feeSplit();
        assertEq(s.treasuryBps, 1_000);
        assertEq(s.ownerBps, 2_000);
        assertEq(s.providerBps, 2_000);
        assertEq(s.contributorsBps, 5_000);
    }

    function test_constructor_revertsOnZeroAddresses() public {
        IModelRegistry m = models;
        IWorkerRegistry w = workers;
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new RewardVault(IERC20(address(0)), m, w, treasury, gov);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new RewardVault(token, IModelRegistry(address(0)), w, treasury, gov);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new RewardVault(token, m, IWorkerRegistry(address(0)), treasury, gov);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new RewardVault(token, m, w, address(0), gov);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new RewardVault(token, m, w, treasury, address(0));
    }

    // ------------------------------------------------------------------ payForInference

    function test_payForInference_splitsAndCredits() public {
        uint256 amount = PRICE * 10;
        bytes32 ref = keccak256("req-1");
        vm.expectEmit(address(vault));
        emit IRewardVault.InferencePaid(
            1, modelId, payer, 10, amount, ref, amount / 10, amount / 5, amount / 5, amount / 2
        );
        vm.prank(payer);
        uint256 paymentId = vault.payForInference(modelId, 10, PRICE, ref);
        assertEq(paymentId, 1);
        assertEq(vault.paymentCount(), 1);
        assertEq(vault.credited(treasury), amount / 10);
        assertEq(vault.credited(modelOwner), amount / 5);
        assertEq(vault.credited(worker), amount / 5);
        (uint256 available, uint256 reserved) = vault.pool(modelId);
        assertEq(available, amount / 2);
        assertEq(reserved, 0);
        assertEq(token.balanceOf(address(vault)), amount);
        assertEq(token.balanceOf(payer), FUNDS - amount);
    }

    /// @dev The current price is charged, never maxPrice.
    function test_payForInference_chargesCurrentPriceUpToMaximum() public {
        vm.prank(modelOwner);
        models.setPrice(modelId, 3 ether);
        vm.prank(payer);
        vault.payForInference(modelId, 2, 10 ether, bytes32(0));
        assertEq(token.balanceOf(address(vault)), 6 ether);
        assertEq(token.balanceOf(payer), FUNDS - 6 ether);
        vm.prank(payer);
        vault.payForInference(modelId, 1, 3 ether, bytes32(0)); // exactly the price
        assertEq(token.balanceOf(address(vault)), 9 ether);
    }

    /// @dev v2: a price raised in front of the payment makes it revert instead of charging more.
    function test_payForInference_revertsAbovePayersMaximum() public {
        vm.prank(modelOwner);
        models.setPrice(modelId, 50 ether); // the owner front-runs the payer's transaction
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.PriceAboveMaximum.selector, modelId, 50 ether, PRICE));
        vm.prank(payer);
        vault.payForInference(modelId, 10, PRICE, bytes32(0));
        assertEq(token.balanceOf(payer), FUNDS);
        assertEq(vault.paymentCount(), 0);
    }

    function testFuzz_payForInference_neverChargesAboveMaximum(uint256 price, uint256 maxPrice, uint8 count) public {
        price = bound(price, 1, 10 ether);
        maxPrice = bound(maxPrice, 0, 10 ether);
        count = uint8(bound(count, 1, 100));
        vm.prank(modelOwner);
        models.setPrice(modelId, price);
        if (price > maxPrice) {
            vm.expectRevert(abi.encodeWithSelector(IRewardVault.PriceAboveMaximum.selector, modelId, price, maxPrice));
        }
        vm.prank(payer);
        vault.payForInference(modelId, count, maxPrice, bytes32(0));
        uint256 charged = FUNDS - token.balanceOf(payer);
        assertEq(charged, price > maxPrice ? 0 : price * count);
        assertLe(charged, maxPrice * count);
    }

    function test_payForInference_dustGoesToContributors() public {
        vm.prank(modelOwner);
        models.setPrice(modelId, 7); // 7 wei: every bps share rounds down
        vm.prank(payer);
        vault.payForInference(modelId, 1, 7, bytes32(0));
        (uint256 balance,) = vault.pool(modelId);
        assertEq(vault.credited(treasury), 0);
        assertEq(vault.credited(modelOwner), 1);
        assertEq(vault.credited(worker), 1);
        assertEq(balance, 5);
    }

    function test_payForInference_revertsForModelNotLive() public {
        uint256 registered = _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, registered));
        vm.prank(payer);
        vault.payForInference(registered, 1, PRICE, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, 999));
        vm.prank(payer);
        vault.payForInference(999, 1, PRICE, bytes32(0));
    }

    /// @dev v2: a Live model whose provider is exiting cannot be paid for (nobody serves it).
    function test_payForInference_revertsWhenProviderExits() public {
        vm.prank(worker);
        workers.requestExit();
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, modelId));
        vm.prank(payer);
        vault.payForInference(modelId, 1, PRICE, bytes32(0));
    }

    function test_payForInference_revertsWhileProviderBelowMinimumStake() public {
        vm.prank(gov);
        workers.setMinWorkerStake(STAKE + 1);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, modelId));
        vm.prank(payer);
        vault.payForInference(modelId, 1, PRICE, bytes32(0));
        vm.prank(worker);
        workers.addStake(1);
        vm.prank(payer);
        vault.payForInference(modelId, 1, PRICE, bytes32(0));
        assertEq(vault.paymentCount(), 1);
    }

    function test_payForInference_revertsOnceProviderRevoked() public {
        vm.prank(address(vault));
        models.revokeProvider(modelId, worker);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, modelId));
        vm.prank(payer);
        vault.payForInference(modelId, 1, PRICE, bytes32(0));
    }

    function test_payForInference_revertsOnZeroRequests() public {
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        vm.prank(payer);
        vault.payForInference(modelId, 0, PRICE, bytes32(0));
    }

    function testFuzz_feeSplit_sharesSumToAmount(uint16 t, uint16 o, uint16 p, uint256 price, uint256 count) public {
        t = uint16(bound(t, 0, 10_000));
        o = uint16(bound(o, 0, 10_000 - t));
        p = uint16(bound(p, 0, 10_000 - t - o));
        uint16 c = 10_000 - t - o - p;
        price = bound(price, 1, 10 ether);
        count = bound(count, 1, 500);
        vm.prank(gov);
        vault.setFeeSplit(IRewardVault.FeeSplit(t, o, p, c));
        vm.prank(modelOwner);
        models.setPrice(modelId, price);
        vm.prank(payer);
        vault.payForInference(modelId, count, price, bytes32(0));
        uint256 amount = price * count;
        (uint256 balance,) = vault.pool(modelId);
        assertEq(vault.credited(treasury), amount * t / 10_000);
        assertEq(vault.credited(modelOwner), amount * o / 10_000);
        assertEq(vault.credited(worker), amount * p / 10_000);
        assertGe(balance, amount * c / 10_000);
        assertLe(balance - amount * c / 10_000, 3, "at most 3 wei of rounding dust");
        assertEq(vault.credited(treasury) + vault.credited(modelOwner) + vault.credited(worker) + balance, amount);
        assertEq(token.balanceOf(address(vault)), amount);
    }

    function test_payForInference_ownerAndProviderSameAccountAccumulate() public {
        // A model whose owner also trained it: both shares add up in one credited balance.
        vm.prank(gov);
        vault.setFeeSplit(IRewardVault.FeeSplit(0, 5_000, 5_000, 0));
        vm.prank(worker);
        uint256 own = models.registerModel(DATANET, 1, "base", "spec", PRICE);
        vm.prank(worker);
        uint256 job = models.requestTraining(own, 1 ether);
        _claim(job, worker);
        _submit(job, worker);
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(job);
        vm.prank(payer);
        vault.payForInference(own, 4, PRICE, bytes32(0));
        assertEq(vault.credited(worker), 4 ether);
    }

    // ------------------------------------------------------------------ withdraw

    function test_withdraw_paysEachParty() public {
        _pay(10);
        vm.expectEmit(address(vault));
        emit IChallengeSettlement.Withdrawn(modelOwner, 2 ether);
        vm.prank(modelOwner);
        vault.withdraw();
        vm.prank(worker);
        vault.withdraw();
        vm.prank(stranger);
        vault.withdrawFor(treasury);
        assertEq(token.balanceOf(treasury), 1 ether);
        assertEq(vault.credited(modelOwner), 0);
        assertEq(vault.credited(worker), 0);
        assertEq(vault.credited(treasury), 0);
        assertEq(token.balanceOf(address(vault)), 5 ether, "only the pool is left");
    }

    function test_withdraw_revertsWithNothingCredited() public {
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.NothingToWithdraw.selector, stranger));
        vm.prank(stranger);
        vault.withdraw();
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.NothingToWithdraw.selector, treasury));
        vault.withdrawFor(treasury);
    }

    // ------------------------------------------------------------------ governance

    function test_setters_updateAndEmit() public {
        vm.startPrank(gov);
        vm.expectEmit(address(vault));
        emit IRewardVault.FeeSplitSet(0, 0, 0, 10_000);
        vault.setFeeSplit(IRewardVault.FeeSplit(0, 0, 0, 10_000));
        vm.expectEmit(address(vault));
        emit IChallengeSettlement.ChallengeWindowSet(1 hours);
        vault.setChallengeWindow(1 hours);
        vm.expectEmit(address(vault));
        emit IChallengeSettlement.ChallengeBondSet(2 ether);
        vault.setChallengeBond(2 ether);
        vm.expectEmit(address(vault));
        emit IChallengeSettlement.SlashAmountSet(3 ether);
        vault.setSlashAmount(3 ether);
        vm.expectEmit(address(vault));
        emit IChallengeSettlement.ChallengerRewardBpsSet(0);
        vault.setChallengerRewardBps(0);
        vm.expectEmit(address(vault));
        emit IChallengeSettlement.TreasurySet(stranger);
        vault.setTreasury(stranger);
        vm.expectEmit(address(vault));
        emit IChallengeSettlement.RulingPeriodSet(2 days);
        vault.setRulingPeriod(2 days);
        vm.expectEmit(address(vault));
        emit IChallengeSettlement.CollateralBpsSet(50_000);
        vault.setCollateralBps(50_000);
        vm.expectEmit(address(vault));
        emit IRewardVault.ClaimPeriodSet(30 days);
        vault.setClaimPeriod(30 days);
        vm.stopPrank();
        assertEq(vault.rulingPeriod(), 2 days);
        assertEq(vault.collateralBps(), 50_000);
        assertEq(vault.claimPeriod(), 30 days);
        assertEq(vault.feeSplit().contributorsBps, 10_000);
        assertEq(vault.challengeWindow(), 1 hours);
        assertEq(vault.challengeBond(), 2 ether);
        assertEq(vault.slashAmount(), 3 ether);
        assertEq(vault.challengerRewardBps(), 0);
        assertEq(vault.treasury(), stranger);
    }

    function test_setters_revertOnBadValues() public {
        uint64 maxWindow = vault.MAX_WINDOW();
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.FeeSplitSumInvalid.selector, 9_999));
        vault.setFeeSplit(IRewardVault.FeeSplit(1_000, 2_000, 2_000, 4_999));
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.FeeSplitSumInvalid.selector, 40_000));
        vault.setFeeSplit(IRewardVault.FeeSplit(10_000, 10_000, 10_000, 10_000));
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, 0, maxWindow));
        vault.setChallengeWindow(0);
        vm.expectRevert(
            abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, maxWindow + 1, maxWindow)
        );
        vault.setChallengeWindow(maxWindow + 1);
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        vault.setChallengeBond(0);
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        vault.setSlashAmount(0);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.BpsOutOfRange.selector, 10_001));
        vault.setChallengerRewardBps(10_001);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        vault.setTreasury(address(0));
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, 0, maxWindow));
        vault.setRulingPeriod(0);
        vm.expectRevert(
            abi.encodeWithSelector(IChallengeSettlement.WindowOutOfRange.selector, maxWindow + 1, maxWindow)
        );
        vault.setRulingPeriod(maxWindow + 1);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.BpsOutOfRange.selector, 9_999));
        vault.setCollateralBps(9_999);
        vm.expectRevert(abi.encodeWithSelector(IChallengeSettlement.BpsOutOfRange.selector, 50_001));
        vault.setCollateralBps(50_001);
        vault.setCollateralBps(10_000);
        vm.stopPrank();
        assertEq(vault.collateralBps(), 10_000);
    }

    function testFuzz_setFeeSplit_rejectsAnySumButTenThousand(uint16 t, uint16 o, uint16 p, uint16 c) public {
        uint256 sum = uint256(t) + o + p + c;
        vm.assume(sum != 10_000);
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.FeeSplitSumInvalid.selector, sum));
        vm.prank(gov);
        vault.setFeeSplit(IRewardVault.FeeSplit(t, o, p, c));
    }

    function test_setters_revertForNonGovernance() public {
        bytes32 role = vault.GOVERNANCE_ROLE();
        bytes memory err =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role);
        vm.startPrank(stranger);
        vm.expectRevert(err);
        vault.setFeeSplit(IRewardVault.FeeSplit(0, 0, 0, 10_000));
        vm.expectRevert(err);
        vault.setChallengeWindow(1);
        vm.expectRevert(err);
        vault.setChallengeBond(1);
        vm.expectRevert(err);
        vault.setSlashAmount(1);
        vm.expectRevert(err);
        vault.setChallengerRewardBps(1);
        vm.expectRevert(err);
        vault.setTreasury(stranger);
        vm.expectRevert(err);
        vault.setRulingPeriod(1);
        vm.expectRevert(err);
        vault.setCollateralBps(20_000);
        vm.expectRevert(err);
        vault.setClaimPeriod(1);
        vm.stopPrank();
    }
}
