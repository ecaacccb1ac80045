"""OpenToken (OPEN): balances, allowances, votes, and EIP-2612 permits signed locally."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from worker.chain.accounts import Signer
from worker.chain.bindings import ContractBinding, TxResult
from worker.errors import ChainError

_PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class Permit:
    owner: str
    spender: str
    value: int
    deadline: int
    v: int
    r: bytes
    s: bytes


class OpenToken(ContractBinding):
    NAME = "OpenToken"

    def balance_of(self, account: str) -> int:
        return int(self.view("balanceOf", to_checksum_address(account)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.view("allowance", to_checksum_address(owner), to_checksum_address(spender)))

    def total_supply(self) -> int:
        return int(self.view("totalSupply"))

    def get_votes(self, account: str) -> int:
        return int(self.view("getVotes", to_checksum_address(account)))

    def nonces(self, owner: str) -> int:
        return int(self.view("nonces", to_checksum_address(owner)))

    def transfer(self, to: str, amount: int) -> TxResult:
        return self.transact("transfer", to_checksum_address(to), amount)

    def approve(self, spender: str, amount: int) -> TxResult:
        return self.transact("approve", to_checksum_address(spender), amount)

    def delegate(self, delegatee: str) -> TxResult:
        return self.transact("delegate", to_checksum_address(delegatee))

    def require_balance(self, amount: int, what: str) -> None:
        """ChainError unless the account holds `amount` OPEN (`what` names the payment in the message)."""
        balance = self.balance_of(self.client.address)
        if balance < amount:
            raise ChainError(
                f"{self.client.address} holds {balance / 10**18:,.4f} OPEN, less than {what} "
                f"({amount / 10**18:,.4f} OPEN); nothing was sent"
            )

    def ensure_allowance(self, spender: str, amount: int) -> TxResult | None:
        """Approve `spender` for `amount` unless the account's allowance already covers it."""
        if amount <= 0 or self.allowance(self.client.address, spender) >= amount:
            return None
        return self.approve(spender, amount)

    def sign_permit(self, signer: Signer, spender: str, value: int, deadline: int) -> Permit:
        """An EIP-2612 permit by `signer` for `spender`, bound to this token, chain and the owner's nonce."""
        _, name, version, chain_id, verifying, _, _ = self.view("eip712Domain")
        domain = {"name": name, "version": version, "chainId": int(chain_id), "verifyingContract": verifying}
        spender = to_checksum_address(spender)
        message = {
            "owner": signer.address,
            "spender": spender,
            "value": value,
            "nonce": self.nonces(signer.address),
            "deadline": deadline,
        }
        sig = signer.sign_typed_data(domain, _PERMIT_TYPES, message)
        return Permit(signer.address, spender, value, deadline, sig.v, sig.r, sig.s)
