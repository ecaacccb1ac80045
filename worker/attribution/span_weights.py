"""How exact spans move an answer's contributor weights (docs/ATTRIBUTION.md#how-spans-weigh).

1. A span of L words held by r records of c distinct contributors is worth (L - min_words + 1) / r,
   shared equally by those c contributors. L - min_words + 1 is the number of min_words-grams in the
   span, so cutting a span in pieces never adds mass; dividing by r makes a phrase held by many records
   worth little (a span in 10,000 records says little about any one of them), and a contributor who
   copies a phrase into more of its records only shrinks it (r grows, its share stays 1/c). A span
   that occurs more than `count_limit` times is not enumerated and is worth nothing.
2. A contributor's span mass is the sum over the spans it holds; only payable contributors are paid
   (an unpayable holder still counts in c).
3. Span evidence takes a share alpha = share * min(1, S / saturation) of the answer's weight, S being the
   payable contributors' total span mass: a single unique 4-word match moves little, a unique copy of
   `saturation + min_words - 1` words moves the full share. Within alpha each contributor gets its part
   of S, capped at `contributor_cap`; what the cap removes stays with the other evidence.
4. The rest, 1 - (what the spans took), follows the gradient scores' positive masses, or the model-level
   weights when the answer has no positive gradient evidence.
Masses are floats summed in a fixed order (the spans' order, contributors sorted), and worker.attribution
.shares turns them into ppm, so the same answer gives the same weight bytes everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from worker.attribution.spans import Span


@dataclass(frozen=True)
class SpanWeightRule:
    share: float = 0.5  # the most of an answer's contributor weight exact spans can move
    saturation: float = 5.0  # span mass that moves the full share (a unique 8-word copy at min_words 4)
    contributor_cap: float = 0.3  # the most any one contributor can get through spans


def span_masses(spans: Sequence[Span], owner: Callable[[int], str], min_words: int) -> dict[str, float]:
    """Rules 1-2: span mass per owner (`owner(record position)`, e.g. the contributor) over `spans`."""
    masses: dict[str, float] = {}
    for span in spans:
        if not span.records:
            continue  # more than count_limit copies: boilerplate
        holders = sorted({owner(r) for r in span.records})
        each = max(0, span.length - min_words + 1) / (len(span.records) * len(holders))
        for holder in holders:
            masses[holder] = masses.get(holder, 0.0) + each
    return masses


def _normalised(masses: Mapping[str, float]) -> dict[str, float]:
    positive = {k: m for k, m in sorted(masses.items()) if m > 0}
    total = sum(positive.values())
    return {k: m / total for k, m in positive.items()} if total > 0 else {}


def combine_masses(
    other: Mapping[str, float], spans: Mapping[str, float], rule: SpanWeightRule | None = None
) -> dict[str, float]:
    """Rules 3 and 4: contributor masses (summing to 1) from span masses and the other evidence's masses
    (gradient, or model-level); `other` unchanged when no span has mass."""
    rule = rule or SpanWeightRule()
    total = sum(m for m in spans.values() if m > 0)
    if total <= 0:
        return dict(other)  # no span evidence: the other evidence's weights, exactly as without spans
    base = _normalised(other)
    alpha = rule.share * min(1.0, total / rule.saturation) if base else 1.0
    cap = rule.contributor_cap if base else 1.0  # nothing else to hand the excess to
    taken = {c: min(alpha * m / total, cap) for c, m in sorted(spans.items()) if m > 0}
    rest = 1.0 - sum(taken.values())
    out = {c: rest * w for c, w in base.items()}
    for c, w in taken.items():
        out[c] = out.get(c, 0.0) + w
    return out
