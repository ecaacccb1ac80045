"""Recompute a posted epoch from the receipts in its report, trusting nothing but the chain.

Checks, each reported as a problem: the report is the one whose CID is on-chain and speaks of this
chain, vault, model and epoch; every receipt verifies (EIP-712 signature by the epoch's poster, evidence
hash) and is for this model; no request unit is counted twice (within the report or in an earlier
epoch); every payment exists on-chain for this model with the terms the report states, and covers the
receipt's request index. Then the amounts, the root and the total are recomputed from the receipts and
the on-chain payment terms and compared with what was posted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.chain.client import ChainClient
from worker.chain.types import EpochStatus, Payment
from worker.merkle import ClaimTree
from worker.rewards.aggregation import epoch_amounts
from worker.rewards.epoch_report import EpochReport, PaymentTerms
from worker.rewards.errors import ReceiptError, RewardsError
from worker.rewards.receipts import receipt_domain
from worker.rewards.reports import load_report
from worker.storage import ContentStore


@dataclass
class EpochVerification:
    model_id: int
    epoch: int
    report_cid: str
    onchain_root: str
    onchain_total: int
    root: str = ""
    total: int = 0
    receipts: int = 0
    contributors: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.root == self.onchain_root and self.total == self.onchain_total

    def to_json(self) -> dict:
        return {
            "model": self.model_id,
            "epoch": self.epoch,
            "reportCid": self.report_cid,
            "match": self.ok,
            "onchain": {"root": self.onchain_root, "total": str(self.onchain_total)},
            "recomputed": {"root": self.root, "total": str(self.total)},
            "receipts": self.receipts,
            "contributors": self.contributors,
            "problems": self.problems,
        }


def _check_header(client: ChainClient, report: EpochReport, result: EpochVerification, poster: str) -> None:
    expected = {
        "chainId": (report.chain_id, client.sender.chain_id),
        "vault": (report.vault, client.vault.address),
        "model": (report.model_id, result.model_id),
        "epoch": (report.epoch, result.epoch),
        "poster": (report.poster, poster),
    }
    for name, (found, wanted) in expected.items():
        if found != wanted:
            result.problems.append(f"report {name} is {found}, expected {wanted}")


def _check_receipts(
    client: ChainClient,
    report: EpochReport,
    result: EpochVerification,
    poster: str,
    earlier: set[tuple[int, int]],
) -> None:
    domain = receipt_domain(client.sender.chain_id, client.vault.address)
    seen: set[tuple[int, int]] = set()
    for receipt in report.receipts:
        key = (receipt.payment_id, receipt.request_index)
        label = f"receipt {key[0]}/{key[1]}"
        try:
            receipt.verify(domain, expected_signer=poster)
        except ReceiptError as exc:
            result.problems.append(f"{label}: {exc}")
        if receipt.model_id != result.model_id:
            result.problems.append(f"{label} is for model {receipt.model_id}")
        if key in seen:
            result.problems.append(f"{label} appears twice in the report")
        if key in earlier:
            result.problems.append(f"{label} was already paid in an earlier epoch")
        seen.add(key)


def _check_payments(
    client: ChainClient, report: EpochReport, result: EpochVerification
) -> dict[int, Payment]:
    stated = {p.payment_id: p for p in report.payments}
    onchain: dict[int, Payment] = {}
    for payment_id in sorted({r.payment_id for r in report.receipts}):
        payment = client.vault.get_payment(payment_id)
        if payment is None:
            result.problems.append(f"payment {payment_id} does not exist on-chain")
            continue
        onchain[payment_id] = payment
        terms = stated.get(payment_id)
        if payment.model_id != result.model_id:
            result.problems.append(f"payment {payment_id} paid for model {payment.model_id}")
        if terms != PaymentTerms.of(payment):
            result.problems.append(f"payment {payment_id}: the report's terms differ from the chain's")
    for receipt in report.receipts:
        payment = onchain.get(receipt.payment_id)
        if payment is not None and receipt.request_index >= payment.request_count:
            result.problems.append(
                f"receipt {receipt.payment_id}/{receipt.request_index} is beyond the {payment.request_count} "
                "request(s) paid"
            )
    return onchain


def _earlier_keys(
    client: ChainClient, store: ContentStore, model_id: int, epoch: int
) -> set[tuple[int, int]]:
    keys: set[tuple[int, int]] = set()
    for earlier in range(epoch):
        onchain = client.vault.get_epoch(model_id, earlier)
        if onchain.status != EpochStatus.NONE:
            keys |= {(r.payment_id, r.request_index) for r in load_report(store, onchain.report_cid).receipts}
    return keys


def verify_epoch(
    client: ChainClient, store: ContentStore, model_id: int, epoch: int, check_history: bool = True
) -> EpochVerification:
    onchain = client.vault.get_epoch(model_id, epoch)
    if onchain.status == EpochStatus.NONE:
        raise RewardsError(f"epoch {epoch} of model {model_id} is not posted on-chain: nothing to verify")
    result = EpochVerification(model_id, epoch, onchain.report_cid, "0x" + onchain.root.hex(), onchain.total)
    report = load_report(store, onchain.report_cid)
    _check_header(client, report, result, onchain.poster)
    earlier = _earlier_keys(client, store, model_id, epoch) if check_history else set()
    _check_receipts(client, report, result, onchain.poster, earlier)
    payments = _check_payments(client, report, result)
    counted = [r for r in report.receipts if r.payment_id in payments]
    amounts = epoch_amounts(counted, {pid: PaymentTerms.of(p).unit_value for pid, p in payments.items()})
    if amounts != report.amounts:
        result.problems.append("the report's amounts differ from those recomputed from its receipts")
    result.receipts, result.contributors = len(report.receipts), len(amounts)
    result.total = sum(amounts.values())
    result.root = "0x" + ClaimTree.of(list(amounts.items())).root.hex() if amounts else ""
    return result
