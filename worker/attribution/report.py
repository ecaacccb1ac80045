"""The attribution report: every score plus what is needed to recompute them, as canonical JSON."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from worker.attribution.aggregate import PartyScore
from worker.canonical import canonical_json
from worker.errors import AttributionError

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


def mislabel_rows(scores: list[float], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-record mislabel scores as rows naming the record, most suspicious first (ties by position):
    `record` (index into the report's records), `hash`, `contribution` and `contributor` where known,
    `score`."""
    if len(scores) != len(records):
        raise AttributionError(f"{len(scores)} mislabel scores for {len(records)} training records")
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    rows = []
    for i in order:
        row: dict[str, Any] = {"record": i, "hash": records[i].get("hash"), "score": scores[i]}
        row.update({k: records[i][k] for k in ("contribution", "contributor") if records[i].get(k)})
        rows.append(row)
    return rows


@dataclass(frozen=True)
class RecordProvenance:
    """A training record of the report, in index order: its hash and whose it is."""

    hash: str
    contribution: str
    contributor: str


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
    # classifiers: one row per training record, most likely mislabelled first (leave-one-out margin;
    # mislabel.py, mislabel_rows). Reports written before rows held one float per record, in record order:
    # read them through `mislabel_ranking`, which accepts both.
    mislabel: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AttributionReport:
        """A report as `to_dict` writes it; AttributionError when a field this release needs is missing (a
        posted report is input). Fields this release does not know (a newer writer's) are left out."""
        if not isinstance(data, Mapping):
            raise AttributionError(f"an attribution report is a JSON object, not {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        required = [
            name for name, f in fields.items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = sorted(name for name in required if name not in data)
        if missing:
            raise AttributionError(f"not an attribution report: missing field(s) {missing}")
        return cls(**{name: value for name, value in data.items() if name in fields})

    def model_level_contributors(self) -> list[PartyScore]:
        """Model-level influence per contributor (empty when the report has no model-level part)."""
        rows = (self.model_level or {}).get("contributors") or []
        try:
            return [PartyScore.from_dict(row) for row in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise AttributionError(f"malformed model-level contributor row in the report: {exc!r}") from None

    def mislabel_ranking(self) -> list[dict[str, Any]]:
        """The mislabel rows, most suspicious first, from this release's rows or an older report's
        positional list of floats (empty for language models)."""
        if not self.mislabel or isinstance(self.mislabel[0], dict):
            return list(self.mislabel)
        try:
            return mislabel_rows([float(v) for v in self.mislabel], self.records)
        except (TypeError, ValueError) as exc:
            raise AttributionError(f"malformed mislabel scores in the report: {exc!r}") from None

    def record_provenance(self) -> list[RecordProvenance]:
        """The training records in index order, with their contribution and contributor."""
        return [
            RecordProvenance(
                str(row.get("hash")), str(row.get("contribution") or ""), str(row.get("contributor") or "")
            )
            for row in self.records
        ]

    def to_json(self) -> str:
        return canonical_json(self.to_dict()).decode("utf-8")

    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()
