"""Inference payments as the chain records them (`InferencePaid` events), with confirmation depth, and the
rule of how long their request units may be spent.

The vault stores no payment struct, so a payment is found by one eth_getLogs on its indexed id. A
payment with enough confirmations never changes again and is cached; a shallower one is looked up again
next time, so a reorg that drops it is noticed.

Unit expiry: a payment's request units may be answered only while chain time is before
`paidAt + unitTtl` (`paidAt`: the timestamp of the block holding the payment). The value of units never
used goes to the model's contributors in later epochs (worker.rewards.residue).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from worker.billing.errors import PaymentRequired
from worker.chain.client import ChainClient
from worker.chain.types import Payment

UNIT_TTL = 30 * 24 * 3600  # seconds of chain time a paid unit may be answered after its payment's block
UNKNOWN_TTL_S = 2.0  # an id just looked up and not found is answered from memory this long (flood guard)
MAX_UNKNOWN = 4096  # at most this many such ids remembered


def expires_at(paid_at: int, unit_ttl: int) -> int:
    """The first chain time at which the units of a payment made at `paid_at` are expired."""
    return paid_at + unit_ttl


def is_expired(paid_at: int, unit_ttl: int, now: int) -> bool:
    return now >= expires_at(paid_at, unit_ttl)


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
        self._paid_at: dict[int, int] = {}  # payment id -> its block's timestamp
        self._unknown: OrderedDict[int, float] = OrderedDict()  # payment id -> monotonic time it was missing
        self._lock = threading.Lock()

    def status(self, payment_id: int) -> PaymentStatus:
        now = time.monotonic()
        with self._lock:
            cached = self._final.get(payment_id)
            missing_since = self._unknown.get(payment_id)
        if cached is not None:  # final: no need to ask the chain again (one RPC saved per request)
            return PaymentStatus(cached, self.confirmations)
        if missing_since is not None and now - missing_since < UNKNOWN_TTL_S:
            return PaymentStatus(None, 0)  # a flood of requests for one unknown id costs one eth_getLogs
        head = int(self.client.w3.eth.block_number)
        payment = self.client.vault.get_payment(payment_id)
        if payment is None:
            with self._lock:
                self._unknown[payment_id] = now
                self._unknown.move_to_end(payment_id)
                while len(self._unknown) > MAX_UNKNOWN:
                    self._unknown.popitem(last=False)
            return PaymentStatus(None, 0)
        with self._lock:
            self._unknown.pop(payment_id, None)
        depth = head - payment.block_number + 1
        if depth >= self.confirmations:
            with self._lock:
                self._final[payment_id] = payment
        return PaymentStatus(payment, depth)

    def confirmed(self, payment_id: int) -> Payment:
        """The payment, which must exist with enough confirmations (PaymentRequired otherwise)."""
        found = self.status(payment_id)
        if found.payment is None:
            raise PaymentRequired(
                f"payment {payment_id} is not on-chain (RewardVault {self.client.vault.address}): send "
                "payForInference first and wait until it is mined",
                code="payment_unknown",
            )
        if found.confirmations < self.confirmations:
            raise PaymentRequired(
                f"payment {payment_id} has {found.confirmations} of the {self.confirmations} confirmations "
                "this server requires: retry in a few blocks",
                code="payment_unconfirmed",
            )
        return found.payment

    def many(self, payment_ids: Iterable[int]) -> dict[int, Payment]:
        return {pid: self.confirmed(pid) for pid in sorted(set(payment_ids))}

    def paid_at(self, payment: Payment) -> int:
        """The timestamp of the payment's block (cached: a confirmed payment's block does not move)."""
        with self._lock:
            known = self._paid_at.get(payment.payment_id)
        if known is None:
            known = self.client.block_timestamp(payment.block_number)
            with self._lock:
                self._paid_at[payment.payment_id] = known
        return known
