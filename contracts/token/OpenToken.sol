// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IOpenToken} from "../interfaces/IOpenToken.sol";

/// @title OpenToken (OPEN)
/// @notice The OpenLedger token: fixed supply minted once at deployment, EIP-2612 permits, and
///         delegated voting power for governance (checkpoints keyed by block number, OZ's default clock).
/// @dev No mint or burn after construction. Voting power counts only once a holder delegates
///      (`delegate(self)` to vote with one's own balance).
contract OpenToken is IOpenToken, ERC20, ERC20Permit, ERC20Votes {
    /// @notice Mint the whole `supply` to `initialHolder`.
    /// @dev Emits Transfer(0, initialHolder, supply). Reverts InvalidInitialSupply if `supply` is 0,
    ///      ERC20InvalidReceiver if `initialHolder` is zero, ERC20ExceededSafeSupply above 2^208 - 1.
    constructor(address initialHolder, uint256 supply) ERC20("OpenLedger", "OPEN") ERC20Permit("OpenLedger") {
        if (supply == 0) revert InvalidInitialSupply(supply);
        _mint(initialHolder, supply);
    }

    /// @notice Current nonce of `owner` for permits and vote delegation signatures.
    /// @dev View; one nonce sequence shared by {permit} and {delegateBySig}.
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @dev Balance moves also move delegated votes (ERC20Votes).
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
