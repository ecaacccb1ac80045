"""Stored receipts to contributor payouts: epoch aggregation and reports, the epoch service (close, post,
finalize), claims with proofs, and epoch verification. The receipts themselves, their log and the
payments they spend are worker.billing.

    aggregation   receipts -> contributor amounts (integer, deterministic; dust stays in the pool)
    eligibility   the model's manifest entries checked against the chain: who may be paid
    residue       paid units expire; each epoch pays the pool's residue (dust, expired, swept) pro rata
    ledger        the residue rule's inputs read from the chain and the standing epochs' reports
    epoch_report  the canonical epoch report (receipts, payment terms, manifest check, amounts, claim tree)
    epoch_service EpochService.tick(): idempotent close/post/settle, within stake; re-posts struck receipts
    claims        entitlements, proofs from the report, claims checked before gas, sweeping expired epochs
    verify        recompute a posted epoch from its report
"""

from worker.rewards.claims import (
    Entitlement,
    check_claim,
    claim,
    claimable_targets,
    entitlement_state,
    entitlements,
    proof_from_report,
    submit_claim,
    sweep,
)
from worker.rewards.eligibility import ExcludedEntry, ManifestCheck, check_manifest
from worker.rewards.epoch_report import EpochReport, PaymentTerms, build_report
from worker.rewards.epoch_service import EpochEvent, EpochService, run_in_background
from worker.rewards.errors import RewardsError
from worker.rewards.ledger import read_ledger
from worker.rewards.reports import load_report
from worker.rewards.residue import PoolLedger, Residue
from worker.rewards.verify import EpochVerification, verify_epoch

__all__ = [
    "Entitlement",
    "EpochEvent",
    "EpochReport",
    "EpochService",
    "EpochVerification",
    "ExcludedEntry",
    "ManifestCheck",
    "PaymentTerms",
    "PoolLedger",
    "Residue",
    "RewardsError",
    "build_report",
    "check_claim",
    "check_manifest",
    "claim",
    "claimable_targets",
    "entitlement_state",
    "entitlements",
    "load_report",
    "proof_from_report",
    "read_ledger",
    "run_in_background",
    "submit_claim",
    "sweep",
    "verify_epoch",
]
