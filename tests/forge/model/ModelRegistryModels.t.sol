// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ModelRegistry} from "../../../contracts/model/ModelRegistry.sol";
import {DatanetRegistry} from "../../../contracts/datanet/DatanetRegistry.sol";
import {IDatanetRegistry} from "../../../contracts/interfaces/IDatanetRegistry.sol";
import {IDatanetVersions} from "../../../contracts/interfaces/IDatanetVersions.sol";
import {IChallengeSettlement} from "../../../contracts/interfaces/IChallengeSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";
import {ModelFixtures} from "../utils/ModelFixtures.sol";

/// @notice Models, views, the bound RewardVault and provider revocation of ModelRegistry.
contract ModelRegistryModelsTest is ModelFixtures {
    // ------------------------------------------------------------------ constructor

    function test_constructor_setsRolesAndDefaults() public view {
        assertTrue(models.hasRole(models.DEFAULT_ADMIN_ROLE(), gov));
        assertTrue(models.hasRole(models.GOVERNANCE_ROLE(), gov));
        assertEq(address(models.token()), address(token));
        assertEq(address(models.datanetRegistry()), address(datanets));
        assertEq(address(models.workerRegistry()), address(workers));
        IModelRegistry.Params memory p = models.params();
        assertEq(p.leaseDuration, LEASE);
        assertEq(p.maxLeaseTime, MAX_LEASE);
        assertEq(p.jobDeadline, JOB_DEADLINE);
        assertEq(p.challengeWindow, WINDOW);
        assertEq(p.rulingPeriod, RULING);
        assertEq(p.challengeBond, BOND);
        assertEq(p.slashAmount, SLASH);
        assertEq(p.challengerRewardBps, 5_000);
        assertEq(p.collateralBps, COLLATERAL_BPS);
        assertEq(p.treasury, treasury);
        assertEq(models.MAX_COLLATERAL_BPS(), 50_000);
        assertEq(models.rewardVault(), address(vault), "bound at deployment");
    }

    function test_constructor_leavesRewardVaultUnbound() public {
        ModelRegistry fresh = new ModelRegistry(token, datanets, workers, treasury, gov);
        assertEq(fresh.rewardVault(), address(0));
        // Unbound, nobody may revoke a provider (address(0) cannot call).
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotRewardVault.selector, gov));
        vm.prank(gov);
        fresh.revokeProvider(1, worker);
    }

    function test_constructor_revertsOnZeroAddresses() public {
        IDatanetVersions d = datanets;
        IWorkerRegistry w = workers;
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new ModelRegistry(IERC20(address(0)), d, w, treasury, gov);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new ModelRegistry(token, IDatanetVersions(address(0)), w, treasury, gov);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new ModelRegistry(token, d, IWorkerRegistry(address(0)), treasury, gov);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new ModelRegistry(token, d, w, address(0), gov);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        new ModelRegistry(token, d, w, treasury, address(0));
    }

    // ------------------------------------------------------------------ registerModel

    function test_registerModel_storesAndEmits() public {
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelRegistered(1, modelOwner, DATANET, 2, "base", "bafyspec", PRICE);
        vm.prank(modelOwner);
        uint256 id = models.registerModel(DATANET, 2, "base", "bafyspec", PRICE);
        assertEq(id, 1);
        assertEq(models.modelCount(), 1);
        IModelRegistry.Model memory m = models.getModel(id);
        assertEq(m.owner, modelOwner);
        assertEq(m.datanetId, DATANET);
        assertEq(m.versionId, 2);
        assertEq(m.baseModel, "base");
        assertEq(m.trainingSpecCid, "bafyspec");
        assertEq(m.pricePerInference, PRICE);
        assertEq(uint8(m.status), uint8(IModelRegistry.ModelStatus.Registered));
        assertEq(m.liveJobId, 0);
        assertEq(m.computeProvider, address(0));
        assertEq(bytes(m.adapterCid).length, 0);
        assertFalse(models.isLive(id));
        assertEq(models.computeProviderOf(id), address(0));
        assertEq(_registerModel(), 2, "ids count up");
    }

    function test_registerModel_revertsOnVersionZero() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownVersion.selector, DATANET, 0));
        vm.prank(modelOwner);
        models.registerModel(DATANET, 0, "base", "bafyspec", PRICE);
    }

    function test_registerModel_revertsOnUnpublishedVersion() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownVersion.selector, DATANET, 3));
        vm.prank(modelOwner);
        models.registerModel(DATANET, 3, "base", "bafyspec", PRICE);
    }

    function test_registerModel_revertsOnUnknownDatanet() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownVersion.selector, 99, 1));
        vm.prank(modelOwner);
        models.registerModel(99, 1, "base", "bafyspec", PRICE);
    }

    function test_registerModel_revertsOnEmptyFields() public {
        vm.startPrank(modelOwner);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.EmptyField.selector, "baseModel"));
        models.registerModel(DATANET, 1, "", "bafyspec", PRICE);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.EmptyField.selector, "trainingSpecCid"));
        models.registerModel(DATANET, 1, "base", "", PRICE);
        vm.stopPrank();
    }

    function test_registerModel_revertsOnZeroPrice() public {
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        vm.prank(modelOwner);
        models.registerModel(DATANET, 1, "base", "bafyspec", 0);
    }

    /// @dev Against the real DatanetRegistry: a version exists only once published.
    function test_registerModel_withRealDatanetRegistry() public {
        DatanetRegistry real = new DatanetRegistry(token, gov);
        ModelRegistry registry = new ModelRegistry(token, IDatanetVersions(address(real)), workers, treasury, gov);
        address curator = makeAddr("curator");
        address[] memory curators = new address[](1);
        curators[0] = curator;
        vm.prank(modelOwner);
        uint256 dn = real.createDatanet("bafymeta", treasury, IDatanetRegistry.Policy(0, 1 days, 0), curators);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownVersion.selector, dn, 1));
        registry.registerModel(dn, 1, "base", "bafyspec", PRICE);
        vm.prank(stranger);
        uint256 contribution = real.contribute(dn, "bafkreicontent", 100, 2);
        vm.prank(curator);
        real.review(contribution, true, "bafyok");
        vm.prank(modelOwner);
        real.publishVersion(dn, keccak256("root"), "bafymanifest", 2, 1);
        uint256 id = registry.registerModel(dn, 1, "base", "bafyspec", PRICE);
        assertEq(registry.getModel(id).versionId, 1);
    }

    // ------------------------------------------------------------------ setPrice

    function test_setPrice_updatesAndEmits() public {
        uint256 id = _registerModel();
        vm.expectEmit(address(models));
        emit IModelRegistry.PriceSet(id, 7 ether);
        vm.prank(modelOwner);
        models.setPrice(id, 7 ether);
        assertEq(models.getModel(id).pricePerInference, 7 ether);
        (, uint256 price,,) = models.paymentTerms(id);
        assertEq(price, 7 ether);
    }

    function test_setPrice_revertsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, 5));
        vm.prank(modelOwner);
        models.setPrice(5, 1);
    }

    function test_setPrice_revertsForNonOwner() public {
        uint256 id = _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotModelOwner.selector, id, stranger));
        vm.prank(stranger);
        models.setPrice(id, 1);
    }

    function test_setPrice_revertsOnZero() public {
        uint256 id = _registerModel();
        vm.expectRevert(IChallengeSettlement.ZeroAmount.selector);
        vm.prank(modelOwner);
        models.setPrice(id, 0);
    }

    // ------------------------------------------------------------------ views

    function test_views_unknownIds() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, 0));
        models.getModel(0);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownJob.selector, 1));
        models.getJob(1);
        assertFalse(models.isLive(42));
        (bool servable, uint256 price, address owner, address provider) = models.paymentTerms(42);
        assertFalse(servable);
        assertEq(price, 0);
        assertEq(owner, address(0));
        assertEq(provider, address(0));
        assertEq(models.jobCount(), 0);
        assertEq(models.computeProviderOf(42), address(0));
        assertFalse(models.isApprovedRequester(42, modelOwner));
    }

    function test_paymentTerms_ofLiveModel() public {
        uint256 id = _liveModel();
        (bool servable, uint256 price, address owner, address provider) = models.paymentTerms(id);
        assertTrue(servable);
        assertEq(price, PRICE);
        assertEq(owner, modelOwner);
        assertEq(provider, worker);
        assertEq(models.computeProviderOf(id), worker);
    }

    function test_paymentTerms_registeredModelIsNotServable() public {
        uint256 id = _registerModel();
        (bool servable, uint256 price, address owner, address provider) = models.paymentTerms(id);
        assertFalse(servable);
        assertEq(price, PRICE);
        assertEq(owner, modelOwner);
        assertEq(provider, address(0));
    }

    /// @dev Servable = Live with a provider that is still an active worker: an exiting provider stops it.
    function test_paymentTerms_notServableOnceProviderExits() public {
        uint256 id = _liveModel();
        vm.prank(worker);
        workers.requestExit();
        (bool servable,,, address provider) = models.paymentTerms(id);
        assertFalse(servable);
        assertEq(provider, worker);
        assertTrue(models.isLive(id), "still Live: only not servable");
    }

    /// @dev ... and so does a provider below the minimum stake, until it tops up.
    function test_paymentTerms_followsProviderStake() public {
        uint256 id = _liveModel();
        vm.prank(gov);
        workers.setMinWorkerStake(STAKE + 1);
        (bool servable,,,) = models.paymentTerms(id);
        assertFalse(servable);
        vm.prank(worker);
        workers.addStake(1);
        (servable,,,) = models.paymentTerms(id);
        assertTrue(servable);
    }

    // ------------------------------------------------------------------ bindRewardVault / revokeProvider

    function test_bindRewardVault_onceByAdmin() public {
        ModelRegistry fresh = new ModelRegistry(token, datanets, workers, treasury, gov);
        vm.expectEmit(address(fresh));
        emit IModelRegistry.RewardVaultBound(address(vault));
        vm.prank(gov);
        fresh.bindRewardVault(address(vault));
        assertEq(fresh.rewardVault(), address(vault));
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.RewardVaultAlreadyBound.selector, address(vault)));
        vm.prank(gov);
        fresh.bindRewardVault(stranger);
        assertEq(fresh.rewardVault(), address(vault));
    }

    function test_bindRewardVault_revertsAfterDeploymentWiring() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.RewardVaultAlreadyBound.selector, address(vault)));
        vm.prank(gov);
        models.bindRewardVault(gov);
    }

    function test_bindRewardVault_revertsOnZeroAddress() public {
        ModelRegistry fresh = new ModelRegistry(token, datanets, workers, treasury, gov);
        vm.expectRevert(IChallengeSettlement.ZeroAddress.selector);
        vm.prank(gov);
        fresh.bindRewardVault(address(0));
    }

    function test_bindRewardVault_revertsForNonAdmin() public {
        ModelRegistry fresh = new ModelRegistry(token, datanets, workers, treasury, gov);
        bytes32 admin = fresh.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, admin)
        );
        vm.prank(stranger);
        fresh.bindRewardVault(stranger);
    }

    function test_revokeProvider_byBoundVaultUnseatsProvider() public {
        uint256 id = _liveModel();
        vm.expectEmit(address(models));
        emit IModelRegistry.ProviderRevoked(id, worker);
        vm.prank(address(vault));
        models.revokeProvider(id, worker);
        assertEq(models.computeProviderOf(id), address(0));
        assertEq(models.getModel(id).computeProvider, address(0));
        (bool servable,,, address provider) = models.paymentTerms(id);
        assertFalse(servable);
        assertEq(provider, address(0));
        assertEq(models.getModel(id).adapterCid, "bafyadapter", "the adapter stays until the owner replaces it");
    }

    /// @dev A root struck after the owner moved on must not unseat the new provider: a no-op, no event.
    /// @dev A root of a former provider struck late does not unseat the current one, but is remembered:
    ///      that worker's later results for this model wait for the owner.
    function test_revokeProvider_ofFormerProviderKeepsCurrentAndRemembersIt() public {
        uint256 id = _liveModel();
        vm.expectEmit(address(models));
        emit IModelRegistry.ProviderRevoked(id, worker2);
        vm.prank(address(vault));
        models.revokeProvider(id, worker2);
        assertEq(models.computeProviderOf(id), worker);
        assertTrue(models.isRevokedProvider(id, worker2));
        assertFalse(models.isRevokedProvider(id, worker));
    }

    function test_revokeProvider_revertsForAnyoneButTheVault() public {
        uint256 id = _liveModel();
        address[3] memory callers = [gov, modelOwner, worker];
        for (uint256 i = 0; i < callers.length; i++) {
            vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NotRewardVault.selector, callers[i]));
            vm.prank(callers[i]);
            models.revokeProvider(id, worker);
        }
        assertEq(models.computeProviderOf(id), worker);
    }
}
