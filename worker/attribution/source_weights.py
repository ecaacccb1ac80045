"""Whether an answer has a source among the training records, and how its gradient scores then weigh
(docs/ATTRIBUTION.md#how-an-answer-finds-its-source).

1. Record scores are standardised over every training record of the model, robustly: z = (s - median) /
   (1.4826 MAD), the median absolute deviation scaled to a Gaussian's standard deviation (when more than
   half the weight is on one value, 1.2533 x the mean absolute deviation from the median). The median and
   the MAD weigh each record 1 / its contributor's record count, so each contributor counts once
   (many look-alike records of one contributor cannot shrink the scale). Medians are exact whatever the
   order, and a block of records scoring high together (an attacker's copies of the source)
   widens the scale far less than it would a standard deviation (enough copies can still push an answer
   to "none", which pays the model-level weights, never the copies' holder more than the source). With n
   records, the largest of n scores that are noise reaches about sqrt(2 ln n) of these units.
2. The gradients name a source when the top record stands out beyond that: z_top >= outlier *
   sqrt(2 ln n). The threshold grows slowly with the index (3.0 at 96 records, 4.8 at 100,000), so one
   calibration serves every size.
3. When they do, each payable contributor's gradient evidence is its *best* record's z (not a sum over
   its records: splitting a record into many near-copies, or copying one record into more of one's own,
   adds nothing), and the contributors' masses are a softmax of those at `temperature` (in standard
   deviations): a record far ahead of every other contributor's takes nearly all, contributors whose best
   records are close share. Masses exp((z_c - z_max) / T) in address order, normalised by the ppm rule.
4. Span evidence (worker.attribution.span_weights) counts when the payable contributors' span mass S
   reaches `min_span_mass` (3: a 6-word copy held by one record; a name reused from a record with a few
   template words, as models do when they make an answer up, stays below it).
5. Outcomes, recorded in the receipt's evidence as "source": "record" (rule 2 holds: the softmax masses,
   spans combined by span_weights' rules 3-4); "spread" (no standout record but span evidence: the
   positive gradient masses, as before this rule, with the spans); "none" (neither: no record is evidence
   for this answer, and the contributor share follows the model-level weights).
The parameters travel in the receipt's evidence ("rule"), so the weights are a pure function of the
scores, the spans and what the receipt records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import torch

SOURCES = ("record", "spread", "none")


@dataclass(frozen=True)
class SourceRule:
    """Chosen on the dev half of the planted-fact benchmark (bench/attribution_planted.py), on the scores
    of the engine's defaults (chosen again when those changed: temperature 0.5 -> 2.0)."""

    outlier: float = 2.8  # the top record names a source at z >= outlier * sqrt(2 ln n)
    temperature: float = 2.0  # softmax temperature over contributors' best z (robust units)
    min_span_mass: float = 3.0  # span mass from which spans are evidence (a unique 6-word copy)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def threshold(self, records: int) -> float:
        """The z a top record must reach among `records` to name a source (rule 2)."""
        return self.outlier * math.sqrt(2 * math.log(records)) if records > 1 else math.inf


def _weighted_median(x: torch.Tensor, weights: torch.Tensor) -> float:
    """The value where the cumulative weight of the sorted values reaches half (the mean of the two values
    around it when it lands exactly on half, so equal weights give the ordinary median)."""
    order = torch.sort(x, stable=True).indices
    ordered, cumulative = x[order], torch.cumsum(weights[order], 0)
    half = float(cumulative[-1]) / 2
    k = int(torch.searchsorted(cumulative, torch.tensor(half, dtype=torch.float64)))
    k = min(k, len(x) - 1)
    if float(cumulative[k]) == half and k + 1 < len(x):
        return (float(ordered[k]) + float(ordered[k + 1])) / 2
    return float(ordered[k])


def standardised(scores: Sequence[float] | torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Rule 1: robust z-scores in float64 (all zero when the scores do not vary). `weights` (one per
    score, default equal) weigh the records in the median and the MAD: RecordOwners gives each record
    1 / its contributor's record count, so every contributor counts once in the noise scale and nobody
    can shrink it (and make any score stand out) by adding many records that score alike. Sorting is
    exact, so the result does not depend on the records' order."""
    x = torch.as_tensor(scores, dtype=torch.float64).flatten()
    if len(x) == 0:
        return x
    w = torch.ones_like(x) if weights is None else torch.as_tensor(weights, dtype=torch.float64).flatten()
    center = _weighted_median(x, w)
    deviations = (x - center).abs()
    scale = 1.4826 * _weighted_median(deviations, w)  # the MAD, as a Gaussian's standard deviation
    if scale <= 0:  # more than half the weight on one value: the mean absolute deviation instead
        scale = 1.2533 * float((w * deviations).sum() / w.sum())
    return (x - center) / scale if scale > 0 else torch.zeros_like(x)


def source_masses(best: Mapping[str, float], top: float, records: int, rule: SourceRule) -> dict[str, float]:
    """Rules 2-3: contributor masses from each contributor's best z (`best`) when the top record's z
    (`top`, over all `records`) names a source; empty when it does not."""
    if not best or top < rule.threshold(records):
        return {}
    peak = max(best.values())
    return {c: math.exp((z - peak) / rule.temperature) for c, z in sorted(best.items())}
