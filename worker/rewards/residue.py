"""Nothing stays stranded: paid request units expire, and every epoch pays out the pool's residue.

The rule, in integer arithmetic and a fixed order, so `verify epoch` recomputes it to the wei from the
chain and the published reports (ledger.py reads its inputs):

1. **Unit expiry.** A payment's request units may be answered only while chain time is before
   `paidAt + unitTtl`: `paidAt` is the timestamp of the block holding its `InferencePaid` event and
   `unitTtl` (seconds; UNIT_TTL = 30 days, worker.billing.payments) is a protocol constant recorded in every
   epoch report.
   `serve` refuses an expired unit with HTTP 402 `payment_expired`.
2. **The ledger at the epoch's pinned block B** (the block its manifest entries are checked at, recorded
   in the report as `residueBlock`): the pool's `available` balance at B; every payment of the model
   mined at or before B (unit value, `paidAt`); the request units spent by the receipts of the model's
   *standing* epochs: for each epoch, its latest `EpochPosted` at or before B unless an upheld or lapsed
   challenge voided it at or before B (finalized and swept epochs stand: their units were spent).
3. **Outstanding value** (still owed to units that may yet be answered): for every payment not expired
   at B (`timestamp(B) < paidAt + unitTtl`), each unit spent neither by a standing epoch nor by this
   epoch's receipts counts at its unit value. Of an expired payment only the units the poster already
   answered and leaves for a later epoch (`deferred`, listed in the report) count; the rest is free.
4. **Residue:** `residueIn = max(0, available(B) - outstanding - receiptsTotal)`, where receiptsTotal is
   the sum of the epoch's leaves computed from its receipts alone (aggregation.py). Each address the
   receipts pay gets `residueIn * its amount // receiptsTotal` on top, in sorted address order;
   `residuePaid` is the sum of those shares and the floor remainder stays in `available` for a later
   epoch. An epoch whose receipts pay nothing distributes nothing: the residue waits.
5. The epoch total is the exact sum of the final leaves (receipt amounts + residue shares), as before.

So rounding dust, shares of addresses the manifest check excludes, unclaimed amounts swept back after
the claim period, totals of struck epochs never posted again and the value of units that expired unused
all end up in the leaves of the next epoch that has receipts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_utils.address import to_checksum_address

from worker.billing.payments import UNIT_TTL, is_expired

UnitKey = tuple[int, int]  # (payment id, request index)


@dataclass(frozen=True)
class PaidUnits:
    """One payment of the model as the residue rule sees it."""

    payment_id: int
    request_count: int
    unit_value: int
    paid_at: int  # timestamp of the block of its InferencePaid event


@dataclass(frozen=True)
class PoolLedger:
    """The chain's state the residue rule reads at the pinned block."""

    block: int
    timestamp: int
    available: int
    unit_ttl: int
    payments: tuple[PaidUnits, ...]
    used: frozenset[UnitKey]  # units spent by receipts of the epochs standing at `block`

    def expired(self, payment: PaidUnits) -> bool:
        return is_expired(payment.paid_at, self.unit_ttl, self.timestamp)

    def expired_ids(self) -> set[int]:
        return {p.payment_id for p in self.payments if self.expired(p)}

    def deferrable(self, keys: Iterable[UnitKey]) -> tuple[UnitKey, ...]:
        """Of the answered units left for a later epoch, those of expired payments (sorted): the report
        lists them, as their value is still owed though their payment expired."""
        expired = self.expired_ids()
        return tuple(sorted({k for k in keys if k[0] in expired} - self.used))

    def outstanding(self, spent: Iterable[UnitKey], deferred: Iterable[UnitKey]) -> int:
        """Value still owed to units: unspent units of unexpired payments, deferred units of expired ones."""
        taken = self.used | set(spent)
        counts = {p.payment_id: p.request_count for p in self.payments}
        spent_by = _per_payment(taken, counts)
        waiting_by = _per_payment(set(deferred) - taken, counts)
        total = 0
        for payment in self.payments:
            owed = (
                waiting_by[payment.payment_id]
                if self.expired(payment)
                else payment.request_count - spent_by[payment.payment_id]
            )
            total += owed * payment.unit_value
        return total


def _per_payment(keys: Iterable[UnitKey], counts: Mapping[int, int]) -> Counter[int]:
    """How many of `keys` are real units (index below the payment's request count), by payment."""
    return Counter(pid for pid, index in keys if index < counts.get(pid, 0))


@dataclass(frozen=True)
class Residue:
    """What the residue rule decided for one epoch (block 0: not computed)."""

    unit_ttl: int = UNIT_TTL
    block: int = 0
    available: int = 0
    outstanding: int = 0
    residue_in: int = 0
    deferred: tuple[UnitKey, ...] = ()
    shares: dict[str, int] = field(default_factory=dict)  # by address (sorted), added to the leaves

    @property
    def paid(self) -> int:
        return sum(self.shares.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "unitTtl": self.unit_ttl,
            "residueBlock": self.block,
            "poolAvailable": str(self.available),
            "outstandingUnitsValue": str(self.outstanding),
            "residueIn": str(self.residue_in),
            "residuePaid": str(self.paid),
            "residueShares": {a: str(v) for a, v in self.shares.items()},
            "deferred": [list(k) for k in self.deferred],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Residue:
        shares = {to_checksum_address(a): int(v) for a, v in data["residueShares"].items()}
        return cls(
            unit_ttl=int(data["unitTtl"]),
            block=int(data["residueBlock"]),
            available=int(data["poolAvailable"]),
            outstanding=int(data["outstandingUnitsValue"]),
            residue_in=int(data["residueIn"]),
            deferred=tuple((int(pid), int(index)) for pid, index in data["deferred"]),
            shares={a: shares[a] for a in sorted(shares)},
        )


def split_residue(amounts: Mapping[str, int], residue: int) -> dict[str, int]:
    """`residue` split pro rata to `amounts`, floored, in sorted address order (zero shares dropped)."""
    base = sum(amounts.values())
    if residue <= 0 or base <= 0:
        return {}
    shares = {a: residue * amounts[a] // base for a in sorted(amounts)}
    return {a: s for a, s in shares.items() if s > 0}


def residue_for(
    ledger: PoolLedger, amounts: Mapping[str, int], spent: Iterable[UnitKey], deferred: Iterable[UnitKey]
) -> Residue:
    """The residue an epoch paying `amounts` for the units `spent` distributes, at `ledger`'s block."""
    outstanding = ledger.outstanding(spent, deferred)
    residue_in = max(0, ledger.available - outstanding - sum(amounts.values()))
    return Residue(
        unit_ttl=ledger.unit_ttl,
        block=ledger.block,
        available=ledger.available,
        outstanding=outstanding,
        residue_in=residue_in,
        deferred=tuple(sorted(set(deferred))),
        shares=split_residue(amounts, residue_in),
    )


def with_residue(amounts: Mapping[str, int], residue: Residue) -> dict[str, int]:
    """The leaves: each address's receipt amount plus its residue share, sorted by address."""
    return {a: amounts[a] + residue.shares.get(a, 0) for a in sorted(amounts)}
