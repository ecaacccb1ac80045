"""Receipts -> contributor amounts: each paid request's contributor share, split by that answer's weights.

A request unit is worth the contributors' share of its payment divided by the payment's request count
(floored); a receipt splits that value among its contributors by weight (ppm, floored). Integer
arithmetic in a fixed order, so anyone recomputes the same amounts to the wei; every floor leaves dust in
the model's pool for later epochs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from worker.rewards.receipts import PPM, ReceiptBody


def receipt_amounts(receipt: ReceiptBody, unit_value: int) -> dict[str, int]:
    """What one answer pays each of its contributors."""
    shares = {
        c: unit_value * w // PPM for c, w in zip(receipt.contributors, receipt.weights_ppm, strict=True)
    }
    return {c: a for c, a in shares.items() if a > 0}


def receipt_order(receipt: ReceiptBody) -> tuple[int, int]:
    return (receipt.payment_id, receipt.request_index)


def epoch_amounts(receipts: Iterable[ReceiptBody], unit_values: Mapping[int, int]) -> dict[str, int]:
    """Contributor address -> amount (wei) for an epoch's receipts; `unit_values` by payment id."""
    totals: dict[str, int] = defaultdict(int)
    for receipt in sorted(receipts, key=receipt_order):
        for contributor, amount in receipt_amounts(receipt, unit_values[receipt.payment_id]).items():
            totals[contributor] += amount
    return {c: totals[c] for c in sorted(totals) if totals[c] > 0}
