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

Whether the answer has a source at all is decided first (worker.attribution.source_weights): a training
record whose score stands out beyond chance names one, and its contributor's best record then takes most
of the gradient part ("source": "record"); span evidence without a standout record keeps the positive
masses ("spread", also a classifier's answer without a standout record: there is no span evidence
to look for, and a label is rarely one record's doing); with neither, no record is evidence and the
model-level weights are used ("source": "none", basis "model"). The evidence records the outcome and
the rule's parameters ("rule"). `source=None` gives the earlier rule (positive masses whenever any score
is positive), for comparison.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from eth_utils.address import is_address, to_checksum_address

from worker.attribution.report import AttributionReport, RecordProvenance, top_k
from worker.attribution.shares import ppm_shares
from worker.attribution.source_weights import SourceRule, source_masses, standardised
from worker.attribution.span_weights import SpanWeightRule, combine_masses, span_masses
from worker.serve.span_evidence import SpanMatches

_SCORE_FORMAT = "{:.7g}"  # scores travel as strings: hashes of the evidence must not depend on float repr
SOURCE_RULE = SourceRule()


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
        # each contributor (payable or not) weighs as one in the source rule's noise scale
        counts = Counter(str(o.contributor) for o in owners)
        self._balance = torch.tensor([1.0 / counts[str(o.contributor)] for o in owners], dtype=torch.float64)

    def __len__(self) -> int:
        return len(self.owners)

    def masses(self, scores: torch.Tensor) -> dict[str, float]:
        """Sum of positive scores per payable contributor."""
        sums = torch.zeros(len(self.payees) + 1, dtype=torch.float64)
        sums.index_add_(0, self._slots, scores.double().clamp(min=0))
        return {p: float(sums[i]) for i, p in enumerate(self.payees)}

    def source_masses(self, scores: torch.Tensor, rule: SourceRule) -> dict[str, float]:
        """Softmax masses of the payable contributors' best records when the top record names a source
        (worker.attribution.source_weights, rules 1-3); empty when it does not."""
        if len(scores) == 0 or not self.payees or not bool(torch.isfinite(scores).all()):
            return {}  # nothing to stand out, nobody to pay, or scores that are no evidence
        z = standardised(scores, self._balance)
        best = torch.full((len(self.payees) + 1,), -math.inf, dtype=torch.float64)
        best.scatter_reduce_(0, self._slots, z, reduce="amax")
        if best[-1] >= best[:-1].max():
            return {}  # the standout record is nobody's to pay: the runner-up is not the source
        seen = best[:-1] > -math.inf
        found = {p: b for p, b, ok in zip(self.payees, best[:-1].tolist(), seen.tolist(), strict=True) if ok}
        return source_masses(found, float(z.max()), len(z), rule)

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
    source: SourceRule | None = SOURCE_RULE,
) -> Attribution:
    """Weights and evidence of one answer from its (n,) record scores and its spans (weighed when they are
    `SpanMatches`); the model-level fallback when no record is evidence (`source=None`: when neither gives
    positive evidence, the rule before sources were told apart)."""
    evidence: dict[str, Any] = {"top": owners.evidence(scores, top) if scores is not None else []}
    if spans is not None:
        evidence["spans"] = list(spans)
    from_spans = owners.span_masses(spans) if isinstance(spans, SpanMatches) else {}
    if source is None:
        return _positive_rule(owners, scores, fallback, max_contributors, from_spans, rule, evidence)
    rules = {**source.to_dict(), **{f"span_{k}": v for k, v in asdict(rule or SpanWeightRule()).items()}}
    evidence["rule"] = rules
    named = owners.source_masses(scores, source) if scores is not None else {}
    spanned = sum(m for m in from_spans.values() if m > 0) >= source.min_span_mass
    # A classifier's answer has no spans: its evidence is the records that pull towards its label, and a
    # label is rarely the work of one record, so without a standout it stays spread over them.
    gradient = named or (owners.masses(scores) if scores is not None else {})
    classifier = spans is None and any(m > 0 for m in gradient.values())
    if named or spanned or classifier:
        other = gradient if any(m > 0 for m in gradient.values()) else fallback
        masses = combine_masses(other, from_spans if spanned else {}, rule)
        contributors, weights = ppm_weights(masses, max_contributors)
        if contributors:
            evidence["source"] = "record" if named else "spread"
            return Attribution(contributors, weights, "answer", evidence)
    evidence["source"] = "none"
    contributors, weights = ppm_weights(fallback, max_contributors)
    return Attribution(contributors, weights, "model", evidence)


def _positive_rule(
    owners: RecordOwners,
    scores: torch.Tensor | None,
    fallback: Mapping[str, float],
    max_contributors: int,
    from_spans: Mapping[str, float],
    rule: SpanWeightRule | None,
    evidence: dict[str, Any],
) -> Attribution:
    """The rule before sources were told apart: positive gradient masses whenever any score is positive."""
    gradient = owners.masses(scores) if scores is not None else {}
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
