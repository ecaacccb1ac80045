"""The epoch report: everything needed to recompute an epoch's root and total, as canonical JSON.

It holds the signed receipts themselves (with their evidence), the terms of every payment they spend
(checked against the chain's `InferencePaid` events by `verify epoch`), the resulting amounts and the
claim tree in @openzeppelin/merkle-tree's dump format, so any wallet tool can build a proof from it. Built
from the same receipts it always gives the same bytes, hence the same CID: re-running a crashed epoch
close uploads and posts exactly what the first attempt would have.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from worker.chain.types import Payment
from worker.data.canonical import canonical_json
from worker.merkle import ClaimTree
from worker.rewards.aggregation import epoch_amounts, receipt_order
from worker.rewards.errors import RewardsError
from worker.rewards.receipts import Receipt

REPORT_FORMAT = "openledger.epoch/2"
MAX_REPORT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class PaymentTerms:
    """The part of an on-chain payment an epoch's amounts depend on."""

    payment_id: int
    payer: str
    request_count: int
    contributors_share: int

    @property
    def unit_value(self) -> int:
        return self.contributors_share // self.request_count if self.request_count else 0

    @classmethod
    def of(cls, payment: Payment) -> PaymentTerms:
        return cls(payment.payment_id, payment.payer, payment.request_count, payment.contributors_share)

    def to_json(self) -> dict[str, Any]:
        return {
            "paymentId": self.payment_id,
            "payer": self.payer,
            "requestCount": self.request_count,
            "contributorsShare": str(self.contributors_share),
            "unitValue": str(self.unit_value),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PaymentTerms:
        return cls(
            int(data["paymentId"]),
            to_checksum_address(data["payer"]),
            int(data["requestCount"]),
            int(data["contributorsShare"]),
        )


@dataclass(frozen=True)
class EpochReport:
    chain_id: int
    vault: str
    model_id: int
    epoch: int
    poster: str
    receipts: list[Receipt]
    payments: list[PaymentTerms]
    amounts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.amounts.values())

    def tree(self) -> ClaimTree:
        return ClaimTree.of(list(self.amounts.items()))

    @property
    def root(self) -> bytes:
        return self.tree().root

    def to_json(self) -> dict[str, Any]:
        tree = self.tree()
        return {
            "format": REPORT_FORMAT,
            "chainId": self.chain_id,
            "vault": self.vault,
            "model": self.model_id,
            "epoch": self.epoch,
            "poster": self.poster,
            "receipts": [r.to_json() for r in self.receipts],
            "payments": [p.to_json() for p in self.payments],
            "amounts": {a: str(v) for a, v in self.amounts.items()},
            "total": str(self.total),
            "root": "0x" + tree.root.hex(),
            "tree": tree.tree.dump(),
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_bytes(cls, raw: bytes) -> EpochReport:
        """Parse a report; its stated root/total are checked by `verify epoch`, not trusted here."""
        try:
            data = json.loads(raw)
            if data.get("format") != REPORT_FORMAT:
                raise RewardsError(
                    f"not an epoch report: format {data.get('format')!r}, expected {REPORT_FORMAT!r}"
                )
            return cls(
                chain_id=int(data["chainId"]),
                vault=to_checksum_address(data["vault"]),
                model_id=int(data["model"]),
                epoch=int(data["epoch"]),
                poster=to_checksum_address(data["poster"]),
                receipts=[Receipt.from_json(r) for r in data["receipts"]],
                payments=[PaymentTerms.from_json(p) for p in data["payments"]],
                amounts={to_checksum_address(a): int(v) for a, v in data["amounts"].items()},
            )
        except (
            UnicodeDecodeError,
            json.JSONDecodeError,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
        ) as exc:
            raise RewardsError(f"malformed epoch report: {type(exc).__name__}: {exc}") from None


def build_report(
    chain_id: int,
    vault: str,
    model_id: int,
    epoch: int,
    poster: str,
    receipts: Sequence[Receipt],
    payments: Mapping[int, Payment | PaymentTerms],
) -> EpochReport:
    """The report of `receipts` (any order: they are sorted by payment and request index)."""
    ordered = sorted(receipts, key=receipt_order)
    used = {r.payment_id for r in ordered}
    missing = sorted(used - set(payments))
    if missing:
        raise RewardsError(f"no payment terms for payment(s) {missing} spent by receipts of model {model_id}")
    terms = {
        pid: (p if isinstance(p, PaymentTerms) else PaymentTerms.of(p))
        for pid, p in payments.items()
        if pid in used
    }
    amounts = epoch_amounts(ordered, {pid: t.unit_value for pid, t in terms.items()})
    return EpochReport(
        chain_id=int(chain_id),
        vault=to_checksum_address(vault),
        model_id=int(model_id),
        epoch=int(epoch),
        poster=to_checksum_address(poster),
        receipts=ordered,
        payments=[terms[pid] for pid in sorted(terms)],
        amounts=amounts,
    )
