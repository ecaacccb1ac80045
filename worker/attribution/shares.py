"""Contributor shares in parts per million: the one rounding rule behind both the attribution root posted
with a training result (model-level weights) and every receipt (per-answer weights), so a receipt that
falls back to the model-level weights carries exactly the shares the root commits to.

The rule, in a fixed order so any implementation gets the same integers: keep the positive masses; rank
them by mass (largest first), ties by key; keep the first `limit` if given; each share is
`int(mass / total * 1_000_000)` over the kept masses' total; the remainder up to exactly 1,000,000 goes
to the first (largest) one; shares that round to 0 are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

from worker.units import PPM


def ppm_shares(masses: Mapping[str, float], limit: int | None = None) -> list[tuple[str, int]]:
    """(key, ppm) largest first, summing to exactly PPM; empty when no mass is positive."""
    ranked = sorted(((m, k) for k, m in masses.items() if m > 0), key=lambda mk: (-mk[0], mk[1]))
    if limit is not None:
        ranked = ranked[:limit]
    total = sum(m for m, _ in ranked)
    if not ranked or total <= 0:
        return []
    shares = [int(m / total * PPM) for m, _ in ranked]
    shares[0] += PPM - sum(shares)
    return [(k, s) for (_, k), s in zip(ranked, shares, strict=True) if s > 0]
