"""Receipts -> contributor amounts: each paid request's contributor share, split by that answer's weights.

A request unit is worth the contributors' share of its payment divided by the payment's request count
(floored); a receipt splits that value among its contributors by weight (ppm, floored). Integer
arithmetic in a fixed order, so anyone recomputes the same amounts to the wei. The epoch's total is the
sum of its leaves exactly; what the floors leave (dust), the shares of contributors that may not be paid
(see eligibility.py) and weights summing under one million parts are not reserved for those receipts:
they stay in the model's pool (`available`), where the residue rule (residue.py) pays them out to the
contributors of the next epoch that has receipts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from worker.billing.receipts import ReceiptBody
from worker.units import PPM


@dataclass(frozen=True)
class EpochAccounts:
    """Where the value of an epoch's request units went, to the wei: value = total + excluded + dust."""

    amounts: dict[str, int]  # paid, by address (sorted): the claim leaves
    excluded: dict[str, int]  # shares of addresses that may not be paid (left in the pool)
    value: int  # the receipts' request units, each at its payment's unit value

    @property
    def total(self) -> int:
        return sum(self.amounts.values())

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    @property
    def dust(self) -> int:
        """Floors and unassigned weight: left in the pool's available balance."""
        return self.value - self.total - self.excluded_total


def unit_value(contributors_share: int, request_count: int) -> int:
    """What one request unit of a payment is worth to the contributors (floored; 0 for no units)."""
    return contributors_share // request_count if request_count else 0


def receipt_amounts(receipt: ReceiptBody, unit_value: int) -> dict[str, int]:
    """What one answer pays each of its contributors."""
    shares = {
        c: unit_value * w // PPM for c, w in zip(receipt.contributors, receipt.weights_ppm, strict=True)
    }
    return {c: a for c, a in shares.items() if a > 0}


def receipt_order(receipt: ReceiptBody) -> tuple[int, int]:
    return (receipt.payment_id, receipt.request_index)


def _sorted_positive(totals: Mapping[str, int]) -> dict[str, int]:
    return {c: totals[c] for c in sorted(totals) if totals[c] > 0}


def epoch_accounts(
    receipts: Iterable[ReceiptBody],
    unit_values: Mapping[int, int],
    payable: Collection[str] | None = None,
) -> EpochAccounts:
    """Amounts per address for an epoch's receipts (`unit_values` by payment id); addresses outside
    `payable` (None: everyone) are set aside in `excluded`."""
    paid: dict[str, int] = defaultdict(int)
    excluded: dict[str, int] = defaultdict(int)
    value = 0
    for receipt in sorted(receipts, key=receipt_order):
        unit = unit_values[receipt.payment_id]
        value += unit
        for contributor, amount in receipt_amounts(receipt, unit).items():
            target = paid if payable is None or contributor in payable else excluded
            target[contributor] += amount
    return EpochAccounts(_sorted_positive(paid), _sorted_positive(excluded), value)


def epoch_amounts(
    receipts: Iterable[ReceiptBody],
    unit_values: Mapping[int, int],
    payable: Collection[str] | None = None,
) -> dict[str, int]:
    """Contributor address -> amount (wei) for an epoch's receipts; `unit_values` by payment id."""
    return epoch_accounts(receipts, unit_values, payable).amounts
