"""The attribution report: every score plus what is needed to recompute them, as canonical JSON."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import torch

from worker.canonical import canonical_json

METHOD = (
    "projected per-example gradient influence (TRAK-style): LoRA + classifier-head gradients via "
    "torch.func, seeded count-sketch projection, damped empirical-Fisher preconditioner per training "
    "checkpoint, averaged over checkpoints (query gradient per arguments.score.query_checkpoints)"
)


def rounded(values: torch.Tensor, digits: int = 7) -> list[Any]:
    """Floats with fixed significant digits, so reports are compact and stable across platforms' repr."""
    return (
        [float(f"{v:.{digits}g}") for v in values.double().reshape(-1).tolist()]
        if values.dim() <= 1
        else [rounded(row, digits) for row in values]
    )


def top_k(scores: torch.Tensor, k: int) -> list[list[dict[str, Any]]]:
    """Per query, the k records with the largest scores (ties broken by record position)."""
    k = min(k, scores.shape[1])
    out = []
    for row in scores:
        order = sorted(range(len(row)), key=lambda i: (-float(row[i]), i))[:k]
        out.append([{"record": i, "score": float(f"{float(row[i]):.7g}")} for i in order])
    return out


@dataclass
class AttributionReport:
    model: dict[str, Any]
    arguments: dict[str, Any]
    seeds: dict[str, int]
    versions: dict[str, str]
    records: list[dict[str, Any]]  # training records in index order: hash, contributor, contribution
    queries: list[dict[str, Any]]  # hash, measurement, label used, top-k, spans
    scores: list[list[float]]  # (queries x records)
    summary: dict[str, Any]  # aggregation of the query-summed scores
    model_level: dict[str, Any] | None = None  # influence on the mean validation measurement
    self_influence: list[float] = field(default_factory=list)
    method: str = METHOD
    # classifiers: per training record, higher = more likely mislabelled (leave-one-out margin; mislabel.py)
    mislabel: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return canonical_json(self.to_dict()).decode("utf-8")

    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()
