"""Sending transactions: estimate (surfacing reverts before anything is sent), EIP-1559 fees, one nonce
manager per account, retries for transient RPC errors, receipt wait, and reverts decoded by name."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.types import BlockIdentifier, TxParams, TxReceipt

from worker.chain.accounts import ReadOnlySigner, Signer
from worker.chain.artifacts import ErrorTable, error_table
from worker.chain.connection import endpoint_of
from worker.chain.nonces import NonceManager, is_nonce_error, nonce_manager
from worker.chain.retry import RetryPolicy, with_retries
from worker.chain.reverts import TransactionReverted, from_logic_error
from worker.errors import ChainError

__all__ = ["Call", "TransactionSender", "TransactionReverted"]

NONCE_ATTEMPTS = 3
POLL_INTERVAL = 0.02  # seconds between receipt polls (Anvil mines at once)
GAP_CHECK_AFTER = 2.0  # seconds before suspecting a transaction stuck behind a nonce gap


# One cold zero-to-non-zero SSTORE (20k + 2.1k) with room to spare; unused gas is not charged.
GAS_HEADROOM = 25_000


SignedHook = Callable[[str, bytes, int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """What to send: `to=None` creates a contract. `contract`/`function` only name it in messages."""

    contract: str
    function: str
    to: ChecksumAddress | None
    data: bytes
    value: int = 0


class TransactionSender:
    """Signs and sends transactions for one account. Thread-safe: concurrent sends get distinct nonces."""

    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        *,
        errors: ErrorTable | None = None,
        retry: RetryPolicy | None = None,
        receipt_timeout: float = 120.0,
        gas_margin: float = 1.2,
    ):
        self.w3 = w3
        self.signer = signer
        self.retry = retry or RetryPolicy()
        self.receipt_timeout = receipt_timeout
        self.gas_margin = gas_margin
        self._errors = errors
        self._hooks = threading.local()
        self.chain_id = int(self._rpc(lambda: w3.eth.chain_id))
        self.nonces: NonceManager = nonce_manager(
            endpoint_of(w3), self.chain_id, signer.address, self._pending_nonce
        )

    @property
    def address(self) -> ChecksumAddress:
        return self.signer.address

    @property
    def errors(self) -> ErrorTable:
        if self._errors is None:
            self._errors = error_table()
        return self._errors

    def _rpc(self, fn: Callable[[], T]) -> T:
        return with_retries(fn, self.retry)

    def _pending_nonce(self) -> int:
        return int(self._rpc(lambda: self.w3.eth.get_transaction_count(self.signer.address, "pending")))

    def _base_tx(self, call: Call) -> dict[str, Any]:
        tx: dict[str, Any] = {
            "from": self.address,
            "data": call.data,
            "value": call.value,
            "chainId": self.chain_id,
        }
        if call.to is not None:
            tx["to"] = call.to
        return tx

    def call(self, call: Call, block: BlockIdentifier = "latest") -> bytes:
        """eth_call as this account; a revert raises TransactionReverted (stage "call")."""
        try:
            return bytes(
                self._rpc(
                    lambda: self.w3.eth.call(cast(TxParams, self._base_tx(call)), block_identifier=block)
                )
            )
        except ContractLogicError as exc:
            raise from_logic_error(exc, self.errors, call.contract, call.function, stage="call") from None

    def estimate_gas(self, call: Call) -> int:
        """Gas estimate; the node executes the call, so a revert shows up here before anything is sent.

        Estimated against the `pending` block: the transaction lands in the next block, and against
        `latest` code keyed by block number (ERC20Votes checkpoints) looks ~20k gas cheaper than it is."""
        tx = self._base_tx(call)
        try:
            try:
                return int(self._rpc(lambda: self.w3.eth.estimate_gas(tx, "pending")))  # type: ignore[arg-type]
            except Web3RPCError as exc:
                if "pending" not in str(exc).lower():
                    raise
                # A node without a pending block: estimate on `latest`, the gas margin has to cover it.
                return int(self._rpc(lambda: self.w3.eth.estimate_gas(tx)))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise from_logic_error(exc, self.errors, call.contract, call.function, stage="estimate") from None

    def gas_limit(self, estimate: int) -> int:
        """Margin plus fixed headroom: state can change between estimate and inclusion (another of our
        transactions lands first, a new block starts a vote checkpoint), and one storage slot going from
        zero to non-zero costs ~22k gas that no proportional margin on a small call covers."""
        return int(estimate * self.gas_margin) + GAS_HEADROOM

    def fees(self) -> dict[str, int]:
        """EIP-1559 fees: room for the base fee to double before the transaction is priced out."""
        priority = int(self._rpc(lambda: self.w3.eth.max_priority_fee))
        base = int(self._rpc(lambda: self.w3.eth.get_block("latest")).get("baseFeePerGas") or 0)
        return {"maxPriorityFeePerGas": priority, "maxFeePerGas": 2 * base + priority}

    def send(self, call: Call, *, gas: int | None = None) -> TxReceipt:
        """Send and wait for the receipt. `gas` skips estimation (then reverts surface from the receipt)."""
        if isinstance(self.signer, ReadOnlySigner):
            raise self.signer.refuse(f"{call.contract}.{call.function}")
        tx = self._base_tx(call)
        tx["gas"] = gas if gas is not None else self.gas_limit(self.estimate_gas(call))
        tx.update(self.fees())
        tx_hash = self.broadcast(call, tx)
        return self.wait(call, tx, tx_hash)

    @contextmanager
    def recording(self, hook: SignedHook) -> Iterator[None]:
        """Call `hook(tx_hash, raw, nonce)` for each transaction this thread signs, before it is broadcast:
        a caller that must survive a crash records the signed bytes first and can rebroadcast them."""
        previous = getattr(self._hooks, "fn", None)
        self._hooks.fn = hook
        try:
            yield
        finally:
            self._hooks.fn = previous

    def broadcast(self, call: Call, tx: dict[str, Any]) -> str:
        """Sign with the next nonce and broadcast; on a nonce error resync from `pending` and retry."""
        for attempt in range(NONCE_ATTEMPTS):
            try:
                with self.nonces.reserve() as nonce:
                    tx["nonce"] = nonce  # the caller's dict: wait() reads the nonce actually used
                    raw = self.signer.sign_transaction(tx)
                    hook = getattr(self._hooks, "fn", None)
                    if hook is not None:
                        hook("0x" + keccak(raw).hex(), raw, nonce)
                    return self._send_raw(raw)
            except Web3RPCError as exc:
                if not is_nonce_error(exc) or attempt == NONCE_ATTEMPTS - 1:
                    raise ChainError(
                        f"{call.contract}.{call.function}: node refused the transaction: {exc}"
                    ) from exc
                self.nonces.resync()
        raise AssertionError("unreachable")

    def rebroadcast(self, raw: bytes) -> str:
        """Send already-signed bytes again (same hash; a node that has them answers as for a duplicate)."""
        return self._send_raw(raw, resent=True)

    def _send_raw(self, raw: bytes, resent: bool = False) -> str:
        tx_hash = "0x" + keccak(raw).hex()
        tries = {"n": 0}

        def attempt() -> str:
            tries["n"] += 1
            try:
                return "0x" + bytes(self.w3.eth.send_raw_transaction(raw)).hex()
            except Web3RPCError as exc:
                # A retried broadcast of a transaction the node already took is a success, not an error.
                duplicate = is_nonce_error(exc) or "already known" in str(exc).lower()
                if (resent or tries["n"] > 1) and duplicate and self._known(tx_hash):
                    return tx_hash
                raise

        return str(self._rpc(attempt))

    def _known(self, tx_hash: str) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            return True
        except Web3RPCError:  # TransactionNotFound is one
            return False

    def wait(self, call: Call, tx: dict[str, Any], tx_hash: str) -> TxReceipt:
        """Poll for the receipt. A transaction whose nonce the node does not count as pending sits behind a
        gap (e.g. the chain was rewound) and would never be mined: fail fast instead of timing out."""
        started = time.monotonic()
        while True:
            receipt = self._receipt(tx_hash)
            if receipt is not None:
                break
            waited = time.monotonic() - started
            if waited > GAP_CHECK_AFTER and "nonce" in tx and self._pending_nonce() <= tx["nonce"]:
                self.nonces.resync()
                raise ChainError(
                    f"{call.contract}.{call.function}: tx {tx_hash} has nonce {tx['nonce']} but the node "
                    f"expects {self._pending_nonce()}: it will never be mined (chain rewound?); retry"
                )
            if waited > self.receipt_timeout:
                self.nonces.resync()  # the node may have dropped it: do not build on a nonce that never lands
                raise ChainError(
                    f"{call.contract}.{call.function}: tx {tx_hash} not mined within "
                    f"{self.receipt_timeout:.0f}s; check the node and the fees"
                )
            time.sleep(POLL_INTERVAL)
        if receipt["status"] != 1:
            raise self._explain_failure(call, tx, receipt, tx_hash)
        return receipt

    def _receipt(self, tx_hash: str) -> TxReceipt | None:
        try:
            return self._rpc(lambda: self.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _explain_failure(
        self, call: Call, tx: dict[str, Any], receipt: TxReceipt, tx_hash: str
    ) -> TransactionReverted:
        """Replay the reverted transaction with eth_call on the parent block's state to get the revert data
        (receipts carry none). With one transaction per block (Anvil automine) this state is exact."""
        replay = {k: tx[k] for k in ("from", "to", "data", "value", "gas") if k in tx}
        block = max(int(receipt["blockNumber"]) - 1, 0)
        try:
            self.w3.eth.call(replay, block_identifier=block)  # type: ignore[arg-type]
        except ContractLogicError as exc:
            return from_logic_error(
                exc, self.errors, call.contract, call.function, stage="receipt", tx_hash=tx_hash
            )
        out_of_gas = int(receipt["gasUsed"]) >= int(tx["gas"])
        detail = (
            "ran out of gas"
            if out_of_gas
            else f"reverted in block {receipt['blockNumber']} but the replay succeeded (state changed)"
        )
        return TransactionReverted(
            call.contract,
            call.function,
            None,
            stage="receipt",
            tx_hash=tx_hash,
            detail=f"{detail}; gas used {receipt['gasUsed']} of {tx['gas']}",
        )
