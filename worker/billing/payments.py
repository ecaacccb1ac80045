"""Inference payments as the chain records them (`InferencePaid` events), final by the server's rule
(worker.chain.finality), and the rule of how long their request units may be spent.

The vault stores no payment struct; payments are read from the PaymentIndex (worker.billing.
payment_index), which keeps the events of final blocks in the database the receipt log lives in. A
payment not final yet is found with its depth (code `payment_unconfirmed`), a made-up id answers
`payment_unknown` from memory for a while (a flood of one unknown id costs one lookup). Before an epoch
pays receipts out, `recheck` asks the chain whether each payment is still the transaction it was.

Unit expiry: a payment's request units may be answered only while chain time is before
`paidAt + unitTtl` (`paidAt`: the timestamp of the block holding the payment). The value of units never
used goes to the model's contributors in later epochs (worker.rewards.residue).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from worker.billing.errors import PaymentRequired
from worker.billing.payment_index import PaymentIndex, PaymentStatus
from worker.chain.client import ChainClient
from worker.chain.finality import Finality
from worker.chain.types import Payment
from worker.database import Database

UNIT_TTL = 30 * 24 * 3600  # seconds of chain time a paid unit may be answered after its payment's block
UNKNOWN_TTL_S = 2.0  # an id just looked up and not found is answered from memory this long (flood guard)
MAX_UNKNOWN = 4096  # at most this many such ids remembered


def expires_at(paid_at: int, unit_ttl: int) -> int:
    """The first chain time at which the units of a payment made at `paid_at` are expired."""
    return paid_at + unit_ttl


def is_expired(paid_at: int, unit_ttl: int, now: int) -> bool:
    return now >= expires_at(paid_at, unit_ttl)


class PaymentBook:
    def __init__(
        self,
        client: ChainClient,
        confirmations: int | None = None,
        *,
        finality: Finality | None = None,
        index: PaymentIndex | None = None,
        database: Database | str | Path | None = None,
    ):
        """Payments of `client`'s vault. Final by `finality`, or a depth of `confirmations`, or else the
        chain's default (Finality.for_chain); looked up in `index`, or in a PaymentIndex opened on
        `database` (the receipt log's Database, so replicas share it; in-memory SQLite by default)."""
        if confirmations is not None:
            given = Finality.confirmations(confirmations)  # ValueError below 1
            if finality is not None and finality != given:
                raise ValueError(f"confirmations={confirmations} contradicts {finality}")
            finality = given
        if index is None:
            index = PaymentIndex(client, finality, database)
        elif database is not None:
            raise ValueError("pass a payment index or a database to open one in, not both")
        elif finality is not None and finality != index.finality:
            raise ValueError(f"the payment index decides finality by {index.finality}, not {finality}")
        self.client, self.index, self.finality = client, index, index.finality
        self._paid_at: dict[tuple[int, str, int], int] = {}  # (payment id, tx, block) -> block timestamp
        self._unknown: OrderedDict[int, float] = OrderedDict()  # payment id -> monotonic time it was missing
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the index's database if the book opened it (not a Database it was given)."""
        self.index.close()

    @property
    def confirmations(self) -> int:
        """Confirmations a payment needs: the depth; with the `finalized` tag, how far the finalized block
        was behind the head at the last look (so `head - confirmations + 1` is about the final block; use
        `final_block()` for the exact one)."""
        return self.index.final_depth()

    def final_block(self) -> int:
        """The newest final block (asks the chain)."""
        return self.index.final_block()

    def status(self, payment_id: int) -> PaymentStatus:
        now = time.monotonic()
        with self._lock:
            missing_since = self._unknown.get(payment_id)
        if missing_since is not None and now - missing_since < UNKNOWN_TTL_S:
            return PaymentStatus(None, 0)  # a flood of requests for one unknown id costs one lookup
        found = self.index.lookup(payment_id)
        with self._lock:
            if found.payment is None:
                self._unknown[payment_id] = now
                self._unknown.move_to_end(payment_id)
                while len(self._unknown) > MAX_UNKNOWN:
                    self._unknown.popitem(last=False)
            else:
                self._unknown.pop(payment_id, None)
        return found

    def confirmed(self, payment_id: int) -> Payment:
        """The payment, which must exist and be final (PaymentRequired otherwise)."""
        found = self.status(payment_id)
        if found.payment is None:
            raise PaymentRequired(
                f"payment {payment_id} is not on-chain (RewardVault {self.client.vault.address}): send "
                "payForInference first and wait until it is mined",
                code="payment_unknown",
            )
        if not found.final:
            raise PaymentRequired(self._unconfirmed(payment_id, found), code="payment_unconfirmed")
        return found.payment

    def _unconfirmed(self, payment_id: int, found: PaymentStatus) -> str:
        if self.finality.depth is not None:
            return (
                f"payment {payment_id} has {found.confirmations} of the {self.finality.depth} confirmations "
                "this server requires: retry in a few blocks"
            )
        return (
            f"payment {payment_id} has {found.confirmations} confirmation(s) but is not final yet (this "
            "server waits for the chain's finalized block to reach it): retry in a few minutes"
        )

    def many(self, payment_ids: Iterable[int]) -> dict[int, Payment]:
        return {pid: self.confirmed(pid) for pid in sorted(set(payment_ids))}

    def recheck(self, payment_id: int, tx_hash: str) -> Payment | None:
        """The payment as the chain holds it now, if it is still transaction `tx_hash`; None if a reorg
        removed it or gave its id to another transaction (PaymentIndex.recheck)."""
        payment = self.index.recheck(payment_id, tx_hash)
        if payment is None:
            self.forget(payment_id)
        return payment

    def forget(self, payment_id: int) -> None:
        """Drop what this book remembers of `payment_id` (its unknown mark, its block's timestamp)."""
        with self._lock:
            self._unknown.pop(payment_id, None)
            for key in [k for k in self._paid_at if k[0] == payment_id]:
                del self._paid_at[key]

    def paid_at(self, payment: Payment) -> int:
        """The timestamp of the payment's block (cached per transaction: a final block does not move)."""
        key = (payment.payment_id, payment.tx_hash.lower(), payment.block_number)
        with self._lock:
            known = self._paid_at.get(key)
        if known is None:
            known = self.client.block_timestamp(payment.block_number)
            with self._lock:
                self._paid_at[key] = known
        return known
