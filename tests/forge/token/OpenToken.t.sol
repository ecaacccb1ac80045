// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {OpenToken} from "../../../contracts/token/OpenToken.sol";
import {IOpenToken} from "../../../contracts/interfaces/IOpenToken.sol";

contract OpenTokenTest is Test {
    uint256 internal constant SUPPLY = 1_000_000_000 ether;
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 internal constant DELEGATION_TYPEHASH =
        keccak256("Delegation(address delegatee,uint256 nonce,uint256 expiry)");

    OpenToken internal token;
    address internal holder = makeAddr("holder");
    address internal alice;
    uint256 internal aliceKey;
    address internal bob = makeAddr("bob");

    function setUp() public {
        (alice, aliceKey) = makeAddrAndKey("alice");
        token = new OpenToken(holder, SUPPLY);
    }

    function test_constructor_mintsFixedSupplyOnce() public view {
        assertEq(token.name(), "OpenLedger");
        assertEq(token.symbol(), "OPEN");
        assertEq(token.decimals(), 18);
        assertEq(token.totalSupply(), SUPPLY);
        assertEq(token.balanceOf(holder), SUPPLY);
    }

    function test_constructor_emitsMintTransfer() public {
        vm.expectEmit();
        emit IERC20.Transfer(address(0), alice, 5);
        new OpenToken(alice, 5);
    }

    function test_constructor_revertsOnZeroSupply() public {
        vm.expectRevert(abi.encodeWithSelector(IOpenToken.InvalidInitialSupply.selector, 0));
        new OpenToken(holder, 0);
    }

    function test_constructor_revertsOnZeroHolder() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        new OpenToken(address(0), SUPPLY);
    }

    function test_constructor_revertsAboveVotesSafeSupply() public {
        uint256 tooMuch = uint256(type(uint208).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(ERC20Votes.ERC20ExceededSafeSupply.selector, tooMuch, type(uint208).max));
        new OpenToken(holder, tooMuch);
    }

    function test_clock_isBlockNumber() public {
        assertEq(token.CLOCK_MODE(), "mode=blocknumber&from=default");
        vm.roll(1234);
        assertEq(token.clock(), 1234);
    }

    // ------------------------------------------------------------------ permit

    function _permitDigest(address spender, uint256 value, uint256 deadline) internal view returns (bytes32) {
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, alice, spender, value, token.nonces(alice), deadline));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }

    function test_permit_setsAllowanceAndBumpsNonce() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _permitDigest(bob, 7 ether, block.timestamp));
        token.permit(alice, bob, 7 ether, block.timestamp, v, r, s);
        assertEq(token.allowance(alice, bob), 7 ether);
        assertEq(token.nonces(alice), 1);
    }

    function test_permit_revertsWhenExpired() public {
        vm.warp(1000);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _permitDigest(bob, 1, 999));
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, 999));
        token.permit(alice, bob, 1, 999, v, r, s);
    }

    function test_permit_revertsOnReplay() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _permitDigest(bob, 1, block.timestamp));
        token.permit(alice, bob, 1, block.timestamp, v, r, s);
        vm.expectPartialRevert(ERC20Permit.ERC2612InvalidSigner.selector);
        token.permit(alice, bob, 1, block.timestamp, v, r, s);
    }

    // ------------------------------------------------------------------ votes

    function test_votes_needDelegationAndFollowTransfers() public {
        assertEq(token.getVotes(holder), 0, "no votes before delegating");
        vm.prank(holder);
        token.delegate(holder);
        assertEq(token.getVotes(holder), SUPPLY);

        vm.roll(block.number + 1);
        vm.prank(holder);
        token.transfer(alice, 100 ether);
        assertEq(token.getVotes(holder), SUPPLY - 100 ether);
        assertEq(token.getVotes(alice), 0, "alice has not delegated");
        assertEq(token.getPastVotes(holder, block.number - 1), SUPPLY);

        vm.prank(alice);
        token.delegate(bob);
        assertEq(token.getVotes(bob), 100 ether);
        assertEq(token.delegates(alice), bob);
    }

    function test_delegateBySig_sharesNonceWithPermit() public {
        vm.prank(holder);
        token.transfer(alice, 50 ether);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _permitDigest(bob, 1, block.timestamp));
        token.permit(alice, bob, 1, block.timestamp, v, r, s);

        uint256 nonce = token.nonces(alice);
        assertEq(nonce, 1);
        bytes32 structHash = keccak256(abi.encode(DELEGATION_TYPEHASH, bob, nonce, block.timestamp));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (v, r, s) = vm.sign(aliceKey, digest);
        token.delegateBySig(bob, nonce, block.timestamp, v, r, s);
        assertEq(token.getVotes(bob), 50 ether);

        vm.expectRevert(abi.encodeWithSelector(Nonces.InvalidAccountNonce.selector, alice, 2));
        token.delegateBySig(bob, nonce, block.timestamp, v, r, s);
    }

    function testFuzz_transfer_conservesSupplyAndVotes(uint256 amount, address to) public {
        vm.assume(to != address(0) && to != holder);
        amount = bound(amount, 0, SUPPLY);
        vm.prank(holder);
        token.delegate(holder);
        vm.prank(to);
        token.delegate(to);
        vm.prank(holder);
        token.transfer(to, amount);
        assertEq(token.balanceOf(holder) + token.balanceOf(to), SUPPLY);
        assertEq(token.getVotes(holder) + token.getVotes(to), SUPPLY);
        assertEq(token.getVotes(to), amount);
        assertEq(token.totalSupply(), SUPPLY);
    }
}
