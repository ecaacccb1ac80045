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

/// @notice Models, governance parameters and views of ModelRegistry.
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
        assertEq(p.challengeWindow, WINDOW);
        assertEq(p.challengeBond, BOND);
        assertEq(p.slashAmount, SLASH);
        assertEq(p.challengerRewardBps, 5_000);
        assertEq(p.treasury, treasury);
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
        (bool live, uint256 price, address owner, address provider) = models.paymentTerms(42);
        assertFalse(live);
        assertEq(price, 0);
        assertEq(owner, address(0));
        assertEq(provider, address(0));
        assertEq(models.jobCount(), 0);
        assertEq(models.computeProviderOf(42), address(0));
    }

    function test_paymentTerms_ofLiveModel() public {
        uint256 id = _liveModel();
        (bool live, uint256 price, address owner, address provider) = models.paymentTerms(id);
        assertTrue(live);
        assertEq(price, PRICE);
        assertEq(owner, modelOwner);
        assertEq(provider, worker);
        assertEq(models.computeProviderOf(id), worker);
    }

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
        vm.stopPrank();
        IModelRegistry.Params memory p = models.params();
        assertEq(p.leaseDuration, 2 hours);
        assertEq(p.challengeWindow, 3 hours);
        assertEq(p.challengeBond, 4 ether);
        assertEq(p.slashAmount, 5 ether);
        assertEq(p.challengerRewardBps, 10_000);
        assertEq(p.treasury, stranger);
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
        vm.stopPrank();
    }
}
