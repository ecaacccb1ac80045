"""Recompute a posted epoch from the receipts in its report, trusting nothing but the chain.

Checks, each reported as a problem: the report is the one whose CID is on-chain and speaks of this
chain, vault, model and epoch; every receipt verifies (EIP-712 signature by the epoch's poster, evidence
hash) and is for this model; no request unit is counted twice (within the report or in an earlier
epoch); every payment exists on-chain for this model with the terms the report states, and covers the
receipt's request index; the model's manifest entries are checked against the chain at the block the
report names (at the posting block if it names none), and only the addresses they leave payable are
paid. The residue (residue.py) is recomputed at the block the report names: the pool's `available`
there, the model's `InferencePaid` events up to it, the units spent by the reports of the epochs standing
there and the report's unit TTL, which must be the protocol's; the block must precede the post, follow
every earlier post of the model and every payment a counted receipt spends. A derived model's lineage
payout is recomputed at the block of its newest counted payment (lineage.py); content it needs that is
missing is a problem (nobody can judge the epoch), never an exception. Then the amounts (receipt amounts
plus residue shares, after the lineage cut), the root and the total are recomputed and compared with what
was posted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from worker.billing.errors import ReceiptError
from worker.billing.payments import UNIT_TTL
from worker.billing.receipts import Receipt, receipt_domain
from worker.chain.client import ChainClient
from worker.chain.events import DecodedEvent
from worker.chain.types import EpochStatus, Payment
from worker.errors import StorageError
from worker.merkle import ClaimTree
from worker.rewards.aggregation import epoch_accounts
from worker.rewards.claims import report_cids
from worker.rewards.eligibility import ManifestCheck, check_manifest
from worker.rewards.epoch_report import EpochReport, PaymentTerms
from worker.rewards.errors import RewardsError
from worker.rewards.ledger import read_ledger
from worker.rewards.lineage import apply_lineage, lineage_block, read_lineage
from worker.rewards.reports import load_report
from worker.rewards.residue import Residue, residue_for, with_residue
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

    def to_dict(self) -> dict[str, Any]:
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
    """Request units paid by earlier epochs still on-chain (a struck epoch's receipts may be re-posted)."""
    keys: set[tuple[int, int]] = set()
    cids = report_cids(client, model_id)
    for earlier in range(epoch):
        if earlier in cids and client.vault.get_epoch(model_id, earlier).status != EpochStatus.NONE:
            keys |= {(r.payment_id, r.request_index) for r in load_report(store, cids[earlier]).receipts}
    return keys


def _manifest_check(
    client: ChainClient, store: ContentStore, report: EpochReport, result: EpochVerification, block: int
) -> ManifestCheck | None:
    """The manifest verdict recomputed at the report's block; a stated verdict that differs is a problem."""
    at = report.manifest.block if report.manifest is not None else block
    try:
        check = check_manifest(client, store, result.model_id, at)
    except (RewardsError, ValueError) as exc:  # e.g. a pruned node without the state of that block
        result.problems.append(f"cannot check the manifest entries at block {at}: {exc}")
        return None
    if report.manifest is not None and report.manifest != check:
        result.problems.append(
            f"the report's manifest check differs from the chain's at block {at}: "
            f"{len(report.manifest.excluded)} entr(y/ies) excluded, {len(check.excluded)} expected"
        )
    if at > block:
        result.problems.append(f"the manifest was checked at block {at}, after the root was posted ({block})")
    return check


def _residue_block(
    client: ChainClient, report: EpochReport, result: EpochVerification, posted: DecodedEvent
) -> int:
    """The block the residue is recomputed at (the report's); one that is missing, not before the post
    or before an earlier post of the model is a problem."""
    block = report.residue.block
    if not block:
        result.problems.append(
            "the report pays no residue (no residueBlock): the pool's residue must be paid"
        )
        return posted.block_number - 1
    if block >= posted.block_number:
        result.problems.append(
            f"the residue was read at block {block}, not before the post ({posted.block_number})"
        )
    start, here = client.deployment.block_number, (posted.block_number, posted.log_index)
    earlier = client.vault.get_events("EpochPosted", start, posted.block_number, result.model_id)
    late = [e for e in earlier if (e.block_number, e.log_index) < here and e.block_number > block]
    if late:
        result.problems.append(
            f"the residue was read at block {block}, before epoch {late[-1].args['epoch']} was posted "
            f"(block {late[-1].block_number}): that epoch's residue would be paid twice"
        )
    return block


def _residue_amounts(
    client: ChainClient,
    store: ContentStore,
    report: EpochReport,
    result: EpochVerification,
    counted: list[Receipt],
    amounts: dict[str, int],
    block: int,
    unit_ttl: int,
) -> dict[str, int]:
    """The leaves: `amounts` plus the residue recomputed from the chain; a stated residue that differs
    (kept by the poster, split otherwise, wrong TTL) is a problem."""
    if report.residue.unit_ttl != unit_ttl:
        result.problems.append(
            f"the report's unit TTL is {report.residue.unit_ttl} s, the protocol's is {unit_ttl} s"
        )
    try:
        ledger = read_ledger(client, store, result.model_id, block, unit_ttl)
    except (RewardsError, ValueError) as exc:
        result.problems.append(f"cannot recompute the residue at block {block}: {exc}")
        return amounts
    keys = [(r.payment_id, r.request_index) for r in counted]
    residue = residue_for(ledger, amounts, keys, report.residue.deferred)
    if residue != report.residue:
        result.problems.append(_residue_problem(report.residue, residue))
    return with_residue(amounts, residue)


def _check_payment_blocks(
    counted: list[Receipt], payments: dict[int, Payment], result: EpochVerification, block: int
) -> None:
    """Every counted payment must be mined at or before the pinned block (the epoch service counts no
    other): else the ledger, the manifest and the lineage would be read before the payments they settle,
    e.g. a derived model's lineage before its registration."""
    late = sorted({r.payment_id for r in counted if payments[r.payment_id].block_number > block})
    for payment_id in late:
        result.problems.append(
            f"payment {payment_id} was mined in block {payments[payment_id].block_number}, after the "
            f"report's pinned block {block}: an epoch counts only payments mined at or before it"
        )


def _lineage_amounts(
    client: ChainClient,
    store: ContentStore,
    report: EpochReport,
    result: EpochVerification,
    amounts: dict[str, int],
    block: int,
) -> dict[str, int]:
    """The leaves after the lineage cut, recomputed from the chain at the epoch's lineage block (that of
    its newest counted payment, `block`): the ancestors, their pinned jobs' reports, their manifest checks
    and the share there. A derived model's report that omits, shrinks or redirects the upstream part is a
    problem; so is content that cannot be fetched (nobody can judge the epoch without it)."""
    try:
        terms = read_lineage(client, store, result.model_id, block)
    except (RewardsError, StorageError, ValueError) as exc:
        result.problems.append(f"cannot recompute the lineage payout at block {block}: {exc}")
        return amounts
    final, payout = apply_lineage(amounts, terms)
    if payout != report.lineage:
        stated = report.lineage.to_dict() if report.lineage is not None else None
        result.problems.append(
            f"the report's lineage payout differs from the one recomputed at block {block}: "
            f"{'none' if stated is None else stated['upstream'] + ' wei'} passed up stated, "
            f"{'none' if payout is None else str(payout.upstream) + ' wei'} expected"
        )
    return final


def _residue_problem(stated: Residue, recomputed: Residue) -> str:
    return (
        f"the report's residue split differs from the one recomputed at block {recomputed.block}: residue "
        f"{stated.residue_in} stated, {recomputed.residue_in} recomputed (pool available "
        f"{recomputed.available}, outstanding units {recomputed.outstanding}); paid {stated.paid} to "
        f"{len(stated.shares)} address(es), {recomputed.paid} to {len(recomputed.shares)} expected"
    )


def verify_epoch(
    client: ChainClient,
    store: ContentStore,
    model_id: int,
    epoch: int,
    check_history: bool = True,
    unit_ttl: int = UNIT_TTL,
) -> EpochVerification:
    """Recompute the posted epoch; `unit_ttl` is the protocol's (a devnet may shorten it)."""
    onchain = client.vault.get_epoch(model_id, epoch)
    posted = client.vault.epoch_posted_event(model_id, epoch)
    if onchain.status == EpochStatus.NONE or posted is None:
        raise RewardsError(f"epoch {epoch} of model {model_id} is not posted on-chain: nothing to verify")
    cid = str(posted.args["reportCid"])
    result = EpochVerification(model_id, epoch, cid, "0x" + onchain.root.hex(), onchain.total)
    report = load_report(store, cid)
    _check_header(client, report, result, onchain.poster)
    earlier = _earlier_keys(client, store, model_id, epoch) if check_history else set()
    _check_receipts(client, report, result, onchain.poster, earlier)
    payments = _check_payments(client, report, result)
    check = _manifest_check(client, store, report, result, posted.block_number)
    counted = [r for r in report.receipts if r.payment_id in payments]
    units = {pid: PaymentTerms.of(p).unit_value for pid, p in payments.items()}
    base = epoch_accounts(counted, units, check.payable if check is not None else None).amounts
    block = _residue_block(client, report, result, posted)
    _check_payment_blocks(counted, payments, result, block)
    amounts = _residue_amounts(client, store, report, result, counted, base, block, unit_ttl)
    paid = lineage_block((payments[r.payment_id] for r in counted), block)
    amounts = _lineage_amounts(client, store, report, result, amounts, paid)
    if amounts != report.amounts:
        result.problems.append(_amounts_problem(report.amounts, amounts))
    result.receipts, result.contributors = len(report.receipts), len(amounts)
    result.total = sum(amounts.values())
    result.root = "0x" + ClaimTree.of(list(amounts.items())).root.hex() if amounts else ""
    return result


def _amounts_problem(stated: dict[str, int], recomputed: dict[str, int]) -> str:
    unpaid = sorted(set(stated) - set(recomputed))
    if unpaid:
        return f"the report pays {', '.join(unpaid[:3])}, which may not be paid (see the manifest check)"
    return "the report's amounts differ from those recomputed from its receipts"
