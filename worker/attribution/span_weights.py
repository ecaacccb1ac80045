"""How exact spans move an answer's contributor weights (docs/ATTRIBUTION.md#how-spans-weigh).

1. Mass lives on the output's positions, not on spans: each position i of the output that starts a
   min_words-gram inside at least one span (the span covers words i .. i + min_words - 1) is one unit.
   Its holders are the records of every span covering it (r distinct records, of c distinct
   contributors); the position is worth 1 / r, shared equally by those c contributors. A span alone on
   its positions is thus worth (L - min_words + 1) / r, the number of min_words-grams in it over r.
   Overlapping spans (sliding windows over one passage, in one record or many) never add mass: the total
   span mass of an answer is at most (output words - min_words + 1), cutting a span in pieces (overlapping
   or not) never adds up to more, and every further record at a position lowers what that position is
   worth (dividing by r makes a phrase held by many records worth little: a span in 10,000 records says
   little about any one of them); a contributor who copies a phrase into more of its records only shrinks
   it (r grows, its share stays 1/c). A span that occurs more than `count_limit` times is not enumerated:
   it holds no position (its positions count only through the other spans covering them).
2. A contributor's span mass is the sum over the positions it holds; only payable contributors are paid
   (an unpayable holder still counts in c). Spreading records over several addresses (sybils) cannot
   raise what the positions they cover are worth (each record counts in r); at a position that others
   also hold, k addresses take k of the c equal shares of that (smaller) worth.
3. Span evidence takes a share alpha = share * min(1, S / saturation) of the answer's weight, S being the
   payable contributors' total span mass: a single unique 4-word match moves little, a unique copy of
   `saturation + min_words - 1` words moves the full share. Within alpha each contributor gets its part
   of S, capped at `contributor_cap`; what the cap removes stays with the other evidence. The cap is per
   address, not per person: addresses holding together a part P of S get at most alpha * P / S, and so
   never more than alpha <= `share` in all (more than the cap only when they hold more than cap / alpha
   of S). With no other evidence there is nothing to hand the rest to: alpha is 1 and nothing is capped.
4. The rest, 1 - (what the spans took), follows the gradient scores' positive masses, or the model-level
   weights when the answer has no positive gradient evidence.
Weights are computed from every maximal span of the answer (SpanIndex.find_all), not only the ones the
receipt shows (at most max_spans). Masses are floats summed in a fixed order (runs of positions with the
same covering spans, ordered by the first of them in the spans' order, then by position; contributors
sorted), and worker.attribution.shares turns them into ppm, so the same answer gives the same weight
bytes everywhere. Spans that share no position give exactly the masses of the per-span rule
(L - min_words + 1) / (r c) they had before positions were shared.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from worker.attribution.spans import Span


@dataclass(frozen=True)
class SpanWeightRule:
    share: float = 0.5  # the most of an answer's contributor weight exact spans can move
    saturation: float = 5.0  # span mass that moves the full share (a unique 8-word copy at min_words 4)
    contributor_cap: float = 0.3  # the most any one contributor can get through spans


def span_masses(spans: Sequence[Span], owner: Callable[[int], str], min_words: int) -> dict[str, float]:
    """Rules 1-2: span mass per owner (`owner(record position)`, e.g. the contributor) over `spans` (every
    maximal span of one output, in find order)."""
    ranges = [  # (span, first position, end): the min_words-gram starts inside the span
        (k, s.output_start, s.output_start + s.length - min_words + 1)
        for k, s in enumerate(spans)
        if s.records and s.length >= min_words  # not enumerated: more than count_limit copies, boilerplate
    ]
    cuts = sorted({x for _, first, end in ranges for x in (first, end)})
    covers: list[list[int]] = [[] for _ in cuts]  # covers[j]: spans covering positions cuts[j]..cuts[j+1]-1
    for k, first, end in ranges:
        for j in range(bisect_left(cuts, first), bisect_left(cuts, end)):
            covers[j].append(k)
    runs = sorted((cover[0], cuts[j], cuts[j + 1] - cuts[j], j) for j, cover in enumerate(covers) if cover)
    masses: dict[str, float] = {}
    for _, _, positions, j in runs:
        records = sorted({r for k in covers[j] for r in spans[k].records})
        holders = sorted({owner(r) for r in records})
        each = positions / (len(records) * len(holders))
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
