"""Inference payments as the chain records them (`InferencePaid` events), with confirmation depth.

The vault stores no payment struct, so a payment is found by one eth_getLogs on its indexed id. A
payment with enough confirmations never changes again and is cached; a shallower one is looked up again
next time, so a reorg that drops it is noticed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from worker.chain.client import ChainClient
from worker.chain.types import Payment
from worker.rewards.errors import RewardsError


@dataclass(frozen=True)
class PaymentStatus:
    payment: Payment | None
    confirmations: int  # 0 when not found; 1 when in the head block; at least the requirement once final


class PaymentBook:
    def __init__(self, client: ChainClient, confirmations: int = 1):
        if confirmations < 1:
            raise ValueError("confirmations must be >= 1 (1 = mined in the head block)")
        self.client = client
        self.confirmations = confirmations
        self._final: dict[int, Payment] = {}
        self._lock = threading.Lock()

    def status(self, payment_id: int) -> PaymentStatus:
        with self._lock:
            cached = self._final.get(payment_id)
        if cached is not None:  # final: no need to ask the chain again (one RPC saved per request)
            return PaymentStatus(cached, self.confirmations)
        head = int(self.client.w3.eth.block_number)
        payment = self.client.vault.get_payment(payment_id)
        if payment is None:
            return PaymentStatus(None, 0)
        depth = head - payment.block_number + 1
        if depth >= self.confirmations:
            with self._lock:
                self._final[payment_id] = payment
        return PaymentStatus(payment, depth)

    def confirmed(self, payment_id: int) -> Payment:
        """The payment, which must exist with enough confirmations (RewardsError otherwise)."""
        found = self.status(payment_id)
        if found.payment is None:
            raise RewardsError(
                f"payment {payment_id} is not on-chain (RewardVault {self.client.vault.address})"
            )
        if found.confirmations < self.confirmations:
            raise RewardsError(
                f"payment {payment_id} has {found.confirmations} of {self.confirmations} confirmations"
            )
        return found.payment

    def many(self, payment_ids: Iterable[int]) -> dict[int, Payment]:
        return {pid: self.confirmed(pid) for pid in sorted(set(payment_ids))}
