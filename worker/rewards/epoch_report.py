"""The epoch report: everything needed to recompute an epoch's root and total, as canonical JSON.

It holds the signed receipts themselves (with their evidence), the terms of every payment they spend
(checked against the chain's `InferencePaid` events by `verify epoch`), the manifest check (the block the
model's manifest entries were checked at and the entries the chain contradicts), the resulting amounts,
their accounting (value of the request units = receipts total + excluded shares + dust; the residue the
epoch pays on top, with the ledger figures it was computed from and the unit TTL, see residue.py; the
total reserved = receipts total + residue paid) and the claim tree in @openzeppelin/merkle-tree's dump
format (leaves (index, account, amount)), so any wallet tool can build a proof from it. Built from the
same receipts at the same block it always gives the same bytes, hence the same CID: re-running a crashed
epoch close uploads and posts exactly what the first attempt would have.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from eth_utils.address import to_checksum_address

from worker.billing.errors import ReceiptError
from worker.billing.receipts import Receipt
from worker.canonical import canonical_json
from worker.chain.types import Payment
from worker.merkle import ClaimLeaf, ClaimTree
from worker.rewards.aggregation import EpochAccounts, epoch_accounts, receipt_order, unit_value
from worker.rewards.eligibility import ManifestCheck
from worker.rewards.errors import ReportMalformed, RewardsError
from worker.rewards.lineage import LineagePayout, LineageTerms, apply_lineage
from worker.rewards.residue import PoolLedger, Residue, UnitKey, residue_for, with_residue

REPORT_FORMAT = "openledger.epoch/4"
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
        return unit_value(self.contributors_share, self.request_count)

    @classmethod
    def of(cls, payment: Payment) -> PaymentTerms:
        return cls(payment.payment_id, payment.payer, payment.request_count, payment.contributors_share)

    def to_dict(self) -> dict[str, Any]:
        return {
            "paymentId": self.payment_id,
            "payer": self.payer,
            "requestCount": self.request_count,
            "contributorsShare": str(self.contributors_share),
            "unitValue": str(self.unit_value),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaymentTerms:
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
    amounts: dict[str, int]  # the leaves: receipt amounts plus residue shares
    excluded: dict[str, int] = field(default_factory=dict)
    value: int = 0  # the receipts' request units at their payments' unit values
    manifest: ManifestCheck | None = None
    residue: Residue = field(default_factory=Residue)
    lineage: LineagePayout | None = None  # what a derived model passed to its ancestors (lineage.py)

    @property
    def total(self) -> int:
        return sum(self.amounts.values())

    @property
    def receipts_total(self) -> int:
        """What the receipts alone pay (the total without the residue shares), before the lineage cut."""
        return self.total + self.lineage_dust - self.residue.paid

    @property
    def lineage_dust(self) -> int:
        return self.lineage.dust if self.lineage is not None else 0

    @property
    def dust(self) -> int:
        """What the floors left of the receipts' value: it stays in pool.available (residue for later)."""
        return self.value - self.receipts_total - sum(self.excluded.values())

    @cached_property
    def claim_tree(self) -> ClaimTree:
        """Leaf i pays the i-th address in sorted order (`amounts` is kept sorted)."""
        return ClaimTree.of(list(self.amounts.items()))

    def tree(self) -> ClaimTree:
        return self.claim_tree

    @property
    def root(self) -> bytes:
        return self.claim_tree.root

    def claim_of(self, account: str) -> tuple[ClaimLeaf, list[bytes]]:
        """(leaf, proof) of `account` in this epoch."""
        return self.claim_tree.proof_for(account)

    def accounting_json(self) -> dict[str, Any]:
        return {
            "value": str(self.value),
            "total": str(self.total),
            "receiptsTotal": str(self.receipts_total),
            "excluded": {a: str(v) for a, v in self.excluded.items()},
            "dust": str(self.dust),
            **self.residue.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        tree = self.claim_tree
        return {
            "format": REPORT_FORMAT,
            "chainId": self.chain_id,
            "vault": self.vault,
            "model": self.model_id,
            "epoch": self.epoch,
            "poster": self.poster,
            "receipts": [r.to_dict() for r in self.receipts],
            "payments": [p.to_dict() for p in self.payments],
            "manifestCheck": self.manifest.to_dict() if self.manifest is not None else None,
            "amounts": {a: str(v) for a, v in self.amounts.items()},
            "total": str(self.total),
            "accounting": self.accounting_json(),
            "root": "0x" + tree.root.hex(),
            "tree": tree.tree.dump(),
            **({"lineage": self.lineage.to_dict()} if self.lineage is not None else {}),
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_bytes(cls, raw: bytes) -> EpochReport:
        """Parse a report; its stated root/total are checked by `verify epoch`, not trusted here."""
        try:
            data = json.loads(raw)
            if data.get("format") != REPORT_FORMAT:
                raise ReportMalformed(
                    f"not an epoch report: format {data.get('format')!r}, expected {REPORT_FORMAT!r}"
                )
            return cls.from_dict(data)
        except (
            UnicodeDecodeError,
            json.JSONDecodeError,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            ReceiptError,
        ) as exc:
            raise ReportMalformed(f"malformed epoch report: {type(exc).__name__}: {exc}") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpochReport:
        accounting = data["accounting"]
        check = data.get("manifestCheck")
        lineage = data.get("lineage")
        return cls(
            chain_id=int(data["chainId"]),
            vault=to_checksum_address(data["vault"]),
            model_id=int(data["model"]),
            epoch=int(data["epoch"]),
            poster=to_checksum_address(data["poster"]),
            receipts=[Receipt.from_dict(r) for r in data["receipts"]],
            payments=[PaymentTerms.from_dict(p) for p in data["payments"]],
            amounts=_addresses(data["amounts"]),
            excluded=_addresses(accounting["excluded"]),
            value=int(accounting["value"]),
            manifest=ManifestCheck.from_dict(check) if check is not None else None,
            residue=Residue.from_dict(accounting),
            lineage=LineagePayout.from_dict(lineage) if lineage is not None else None,
        )


def _addresses(raw: Mapping[str, Any]) -> dict[str, int]:
    """address -> amount, sorted by address as the claim tree's leaves are."""
    parsed = {to_checksum_address(a): int(v) for a, v in raw.items()}
    return {a: parsed[a] for a in sorted(parsed)}


def build_report(
    chain_id: int,
    vault: str,
    model_id: int,
    epoch: int,
    poster: str,
    receipts: Sequence[Receipt],
    payments: Mapping[int, Payment | PaymentTerms],
    manifest: ManifestCheck | None = None,
    ledger: PoolLedger | None = None,
    deferred: tuple[UnitKey, ...] = (),
    lineage: LineageTerms | None = None,
) -> EpochReport:
    """The report of `receipts` (any order: they are sorted by payment and request index). With
    `manifest`, only its payable addresses are paid and the others' shares are listed as excluded. With
    `ledger` (the chain at the pinned block), the pool's residue is added to the leaves (residue.py);
    `deferred` are the answered units of expired payments left for a later epoch. With `lineage` (a
    derived model's terms at the pinned block), the lineage share of every leaf goes to its ancestors'
    contributors (lineage.py)."""
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
    payable = manifest.payable if manifest is not None else None
    units = {pid: t.unit_value for pid, t in terms.items()}
    accounts, residue = epoch_payout(ordered, units, payable, ledger, deferred)
    amounts, payout = apply_lineage(with_residue(accounts.amounts, residue), lineage)
    return EpochReport(
        chain_id=int(chain_id),
        vault=to_checksum_address(vault),
        model_id=int(model_id),
        epoch=int(epoch),
        poster=to_checksum_address(poster),
        receipts=ordered,
        payments=[terms[pid] for pid in sorted(terms)],
        amounts=amounts,
        excluded=accounts.excluded,
        value=accounts.value,
        manifest=manifest,
        residue=residue,
        lineage=payout,
    )


def epoch_payout(
    receipts: Sequence[Receipt],
    unit_values: Mapping[int, int],
    payable: Collection[str] | None,
    ledger: PoolLedger | None,
    deferred: tuple[UnitKey, ...] = (),
) -> tuple[EpochAccounts, Residue]:
    """What `receipts` pay (aggregation.py) and the residue paid on top (none without a ledger): the
    leaves are `with_residue(accounts.amounts, residue)`."""
    accounts = epoch_accounts(receipts, unit_values, payable)
    if ledger is None:
        return accounts, Residue()
    keys = [(r.payment_id, r.request_index) for r in receipts]
    return accounts, residue_for(ledger, accounts.amounts, keys, deferred)
