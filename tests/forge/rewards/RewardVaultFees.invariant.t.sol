// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {IRewardVault} from "../../../contracts/interfaces/IRewardVault.sol";
import {ModelRegistry} from "../../../contracts/model/ModelRegistry.sol";
import {RewardVault} from "../../../contracts/rewards/RewardVault.sol";
import {ModelFixtures} from "../utils/ModelFixtures.sol";

/// @notice Pays for inferences of two live models under changing prices and fee splits, and withdraws;
///         also pays with a maximum price below the current one (must never charge). Expected shares are
///         recomputed independently (ghosts) from each payment.
contract VaultFeesHandler is Test {
    RewardVault internal vault;
    ModelRegistry internal models;
    address internal payer;
    address[] internal parties; // treasury, owners, providers
    address[2] internal owners;
    address[2] internal providers;

    mapping(address => uint256) public ghostEarned;
    mapping(uint256 => uint256) public ghostPool;
    uint256 public ghostPaid;
    uint256 public ghostWithdrawn;
    /// @notice Set if a payment went through although the price was above the payer's maximum.
    bool public paidAboveMaximum;

    constructor(
        RewardVault vault_,
        ModelRegistry models_,
        address payer_,
        address[2] memory owners_,
        address[2] memory providers_
    ) {
        vault = vault_;
        models = models_;
        payer = payer_;
        owners = owners_;
        providers = providers_;
        parties.push(vault.treasury());
        parties.push(owners_[0]);
        parties.push(owners_[1]);
        parties.push(providers_[0]);
        parties.push(providers_[1]);
    }

    function pay(uint256 seed, uint256 count) external {
        uint256 modelId = seed % 2 + 1;
        count = bound(count, 1, 50);
        uint256 price = models.getModel(modelId).pricePerInference;
        uint256 amount = price * count;
        IRewardVault.FeeSplit memory s = vault.feeSplit();
        vm.prank(payer);
        vault.payForInference(modelId, count, price + seed % 3, bytes32(seed));
        uint256 t = amount * s.treasuryBps / 10_000;
        uint256 o = amount * s.ownerBps / 10_000;
        uint256 p = amount * s.providerBps / 10_000;
        ghostEarned[vault.treasury()] += t;
        ghostEarned[owners[modelId - 1]] += o;
        ghostEarned[providers[modelId - 1]] += p;
        ghostPool[modelId] += amount - t - o - p;
        ghostPaid += amount;
    }

    /// @dev The payer accepts less than the current price: must revert (PriceAboveMaximum).
    function payAboveMaximum(uint256 seed, uint256 count, uint256 below) external {
        uint256 modelId = seed % 2 + 1;
        uint256 price = models.getModel(modelId).pricePerInference;
        uint256 maxPrice = price - bound(below, 1, price);
        vm.prank(payer);
        vault.payForInference(modelId, bound(count, 1, 50), maxPrice, bytes32(seed));
        paidAboveMaximum = true;
    }

    function setFeeSplit(uint16 t, uint16 o, uint16 p) external {
        t = uint16(bound(t, 0, 10_000));
        o = uint16(bound(o, 0, 10_000 - t));
        p = uint16(bound(p, 0, 10_000 - t - o));
        vault.setFeeSplit(IRewardVault.FeeSplit(t, o, p, 10_000 - t - o - p));
    }

    function setPrice(uint256 seed, uint256 price) external {
        uint256 modelId = seed % 2 + 1;
        vm.prank(owners[modelId - 1]);
        models.setPrice(modelId, bound(price, 1, 5 ether));
    }

    function withdraw(uint256 seed) external {
        address a = parties[seed % parties.length];
        uint256 amount = vault.credited(a);
        if (amount == 0) return;
        vm.prank(a);
        vault.withdraw();
        ghostWithdrawn += amount;
    }

    function allParties() external view returns (address[] memory) {
        return parties;
    }
}

contract RewardVaultFeesInvariantTest is StdInvariant, ModelFixtures {
    VaultFeesHandler internal handler;

    function setUp() public override {
        super.setUp();
        _liveModel(); // model 1: owner modelOwner, provider worker
        _registerWorker(worker2);
        vm.prank(stranger);
        uint256 second = models.registerModel(DATANET, 2, "base2", "bafyspec2", 3 ether);
        vm.prank(stranger);
        uint256 job = models.requestTraining(second, 1 ether);
        _claim(job, worker2);
        _submit(job, worker2);
        vm.warp(block.timestamp + WINDOW + 1);
        models.finalize(job);
        assertEq(token.transfer(payer, 1_000_000 ether), true);

        handler = new VaultFeesHandler(vault, models, payer, [modelOwner, stranger], [worker, worker2]);
        bytes32 role = vault.GOVERNANCE_ROLE();
        vm.prank(gov);
        vault.grantRole(role, address(handler));
        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](6);
        s[0] = VaultFeesHandler.pay.selector;
        s[1] = VaultFeesHandler.setFeeSplit.selector;
        s[2] = VaultFeesHandler.setPrice.selector;
        s[3] = VaultFeesHandler.withdraw.selector;
        s[4] = VaultFeesHandler.pay.selector;
        s[5] = VaultFeesHandler.payAboveMaximum.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: s}));
    }

    function invariant_vaultHoldsCreditsAndPools() public view {
        address[] memory parties = handler.allParties();
        uint256 credits;
        for (uint256 i = 0; i < parties.length; i++) {
            credits += vault.credited(parties[i]);
        }
        (uint256 available1, uint256 reserved1) = vault.pool(1);
        (uint256 available2, uint256 reserved2) = vault.pool(2);
        assertEq(reserved1 + reserved2, 0, "no epoch posted: nothing reserved");
        assertEq(token.balanceOf(address(vault)), credits + available1 + reserved1 + available2 + reserved2);
    }

    function invariant_neverChargedAboveMaximum() public view {
        assertFalse(handler.paidAboveMaximum());
    }

    function invariant_sharesMatchIndependentSplit() public view {
        address[] memory parties = handler.allParties();
        uint256 withdrawnSeen;
        for (uint256 i = 0; i < parties.length; i++) {
            uint256 earned = handler.ghostEarned(parties[i]);
            assertGe(earned, vault.credited(parties[i]));
            withdrawnSeen += earned - vault.credited(parties[i]);
        }
        assertEq(withdrawnSeen, handler.ghostWithdrawn());
        (uint256 available1,) = vault.pool(1);
        (uint256 available2,) = vault.pool(2);
        assertEq(available1, handler.ghostPool(1));
        assertEq(available2, handler.ghostPool(2));
    }

    function invariant_paymentsAreFullyAccounted() public view {
        assertEq(handler.ghostPaid(), token.balanceOf(address(vault)) + handler.ghostWithdrawn());
    }

    function invariant_supplyConserved() public view {
        address[] memory parties = handler.allParties();
        uint256 sum = token.balanceOf(address(this)) + token.balanceOf(address(vault))
            + token.balanceOf(address(models)) + token.balanceOf(address(workers)) + token.balanceOf(payer)
            + token.balanceOf(challenger);
        for (uint256 i = 0; i < parties.length; i++) {
            sum += token.balanceOf(parties[i]);
        }
        assertEq(sum, token.totalSupply());
    }
}
