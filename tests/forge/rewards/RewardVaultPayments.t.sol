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
        uint256 paymentId = vault.payForInference(modelId, 10, ref);
        assertEq(paymentId, 1);
        assertEq(vault.paymentCount(), 1);
        assertEq(vault.credited(treasury), amount / 10);
        assertEq(vault.credited(modelOwner), amount / 5);
        assertEq(vault.credited(worker), amount / 5);
        (uint256 balance, uint256 reserved) = vault.pool(modelId);
        assertEq(balance, amount / 2);
        assertEq(reserved, 0);
        assertEq(token.balanceOf(address(vault)), amount);
        assertEq(token.balanceOf(payer), FUNDS - amount);
    }

    function test_payForInference_usesCurrentPrice() public {
        vm.prank(modelOwner);
        models.setPrice(modelId, 3 ether);
        vm.prank(payer);
        vault.payForInference(modelId, 2, bytes32(0));
        assertEq(token.balanceOf(address(vault)), 6 ether);
    }

    function test_payForInference_dustGoesToContributors() public {
        vm.prank(modelOwner);
        models.setPrice(modelId, 7); // 7 wei: every bps share rounds down
        vm.prank(payer);
        vault.payForInference(modelId, 1, bytes32(0));
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
        vault.payForInference(registered, 1, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IRewardVault.ModelNotLive.selector, 999));
        vm.prank(payer);
        vault.payForInference(999, 1, bytes32(0));
    }

    function test_payForInference_revertsOnZeroRequests() public {
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        vm.prank(payer);
        vault.payForInference(modelId, 0, bytes32(0));
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
        vault.payForInference(modelId, count, bytes32(0));
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
        vault.payForInference(own, 4, bytes32(0));
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
        vm.stopPrank();
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
        vm.stopPrank();
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
        vm.stopPrank();
    }
}
