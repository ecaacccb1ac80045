"""Per-answer attribution turned into what a receipt carries: the top training records as evidence and
the contributors' weights (ppm) that split the answer's contributor share.

Weights come from positive scores only (as the model-level payout rule), summed per contributor over
every training record (not just the top k), capped to the `max_contributors` largest and normalised to
exactly one million parts. Only contributors that are addresses can be paid; other provenance labels
appear in the evidence but never in the weights. When an answer has no positive evidence, the model's
model-level weights (its attribution report) are used instead and the receipt says so (basis "model").

A generated answer's exact spans (span_evidence.SpanMatches) take part of the weight beside the gradient
scores (or beside the model-level weights when there are no positive scores) by the rule of
worker.attribution.span_weights: each output position a span covers is one unit shared by the records
covering it (overlapping spans never add up to more than the output's length), rare, long copies count,
spans held by many records count for almost nothing, and no contributor gets more than a capped share
through spans. Every maximal span of the answer is weighed, also those beyond the evidence rows' limit.
Basis "answer" whenever the gradient scores or the spans moved the weights. The spans' evidence rows are
in the receipt, so anyone holding the model's span index can recompute them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from eth_utils.address import is_address, to_checksum_address

from worker.attribution.report import AttributionReport, RecordProvenance, top_k
from worker.attribution.shares import ppm_shares
from worker.attribution.span_weights import SpanWeightRule, combine_masses, span_masses
from worker.serve.span_evidence import SpanMatches

_SCORE_FORMAT = "{:.7g}"  # scores travel as strings: hashes of the evidence must not depend on float repr


@dataclass(frozen=True)
class Attribution:
    contributors: list[str]
    weights_ppm: list[int]
    basis: str  # "answer" | "model"
    evidence: dict[str, Any]


def payable(contributor: str) -> str | None:
    return to_checksum_address(contributor) if is_address(contributor) else None


def ppm_weights(masses: Mapping[str, float], max_contributors: int) -> tuple[list[str], list[int]]:
    """The receipt's contributors and weights: worker.attribution.shares' rule over at most
    `max_contributors`."""
    kept = ppm_shares(masses, limit=max_contributors)
    return [c for c, _ in kept], [w for _, w in kept]


class RecordOwners:
    """Training records in index order with their contribution and contributor (from the model's report)."""

    def __init__(self, owners: Sequence[RecordProvenance]):
        self.owners = list(owners)
        self.payees = sorted({p for o in owners if (p := payable(o.contributor))})
        slot = {p: i for i, p in enumerate(self.payees)}
        # records of unpayable contributors go to a spare slot that is dropped
        self._slots = torch.tensor([slot.get(payable(o.contributor) or "", len(self.payees)) for o in owners])

    def __len__(self) -> int:
        return len(self.owners)

    def masses(self, scores: torch.Tensor) -> dict[str, float]:
        """Sum of positive scores per payable contributor."""
        sums = torch.zeros(len(self.payees) + 1, dtype=torch.float64)
        sums.index_add_(0, self._slots, scores.double().clamp(min=0))
        return {p: float(sums[i]) for i, p in enumerate(self.payees)}

    def span_masses(self, spans: SpanMatches) -> dict[str, float]:
        """Span mass per payable contributor (worker.attribution.span_weights, rules 1-2)."""
        by_owner = span_masses(spans.spans, lambda r: self.owners[r].contributor, spans.min_words)
        masses: dict[str, float] = {}
        for owner, mass in sorted(by_owner.items()):
            if (p := payable(owner)) is not None:
                masses[p] = masses.get(p, 0.0) + mass
        return masses

    def evidence(self, scores: torch.Tensor, k: int) -> list[dict[str, Any]]:
        rows = []
        for item in top_k(scores[None], k)[0]:
            owner = self.owners[item["record"]]
            rows.append(
                {
                    "record": owner.hash,
                    "contribution": owner.contribution,
                    "contributor": owner.contributor,
                    "score": _SCORE_FORMAT.format(item["score"]),
                }
            )
        return rows


def attribute_answer(
    owners: RecordOwners,
    scores: torch.Tensor | None,
    fallback: Mapping[str, float],
    top: int,
    max_contributors: int,
    spans: list[dict[str, Any]] | None = None,
    rule: SpanWeightRule | None = None,
) -> Attribution:
    """Weights and evidence of one answer from its (n,) record scores and its spans (weighed when they are
    `SpanMatches`); the model-level fallback when neither gives positive evidence."""
    evidence: dict[str, Any] = {"top": owners.evidence(scores, top) if scores is not None else []}
    if spans is not None:
        evidence["spans"] = list(spans)
    gradient = owners.masses(scores) if scores is not None else {}
    from_spans = owners.span_masses(spans) if isinstance(spans, SpanMatches) else {}
    answered = any(m > 0 for m in gradient.values())
    spanned = any(m > 0 for m in from_spans.values())
    if answered or spanned:
        masses = combine_masses(gradient if answered else fallback, from_spans, rule)
        contributors, weights = ppm_weights(masses, max_contributors)
        if contributors:
            return Attribution(contributors, weights, "answer", evidence)
    contributors, weights = ppm_weights(fallback, max_contributors)
    return Attribution(contributors, weights, "model", evidence)


def model_level_masses(report: AttributionReport) -> dict[str, float]:
    """Payable contributors' model-level weights from an attribution report (empty if it has none)."""
    rows = report.model_level_contributors()
    return {p: row.weight for row in rows if (p := payable(row.key)) and row.weight > 0}


def record_owners(report: AttributionReport, index_hashes: Sequence[str]) -> RecordOwners:
    """The report's record rows, checked to be the index's records in the same order."""
    rows = report.record_provenance()
    if [r.hash for r in rows] != list(index_hashes):
        raise ValueError(
            "the model's attribution report lists other training records than its attribution index"
        )
    return RecordOwners(rows)
