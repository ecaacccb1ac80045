"""Record scores -> contribution -> contributor: payout weights from positive scores only, plus flags.

A record's contribution is its "contribution" field (e.g. the CID of the uploaded file), else its
contributor; its contributor is its "contributor" field, else "unknown". Weights are each party's
share of the positive score mass (they sum to 1 when any score is positive). Negative scores never
reduce a payout; they raise flags instead: a record, contribution or contributor whose (summed) score
is below -negative_flag_z * std(record scores) is reported as harmful or mislabelled data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

UNKNOWN = "unknown"


@dataclass
class PartyScore:
    key: str
    records: int = 0
    positive: float = 0.0
    negative: float = 0.0
    weight: float = 0.0
    flagged: bool = False

    @property
    def net(self) -> float:
        return self.positive + self.negative

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> PartyScore:
        """A row as Aggregation.to_dict writes it: `key` and `weight` required, the rest default (its derived
        "net" is recomputed, not read)."""
        return cls(
            key=str(row["key"]),
            records=int(row.get("records", 0)),
            positive=float(row.get("positive", 0.0)),
            negative=float(row.get("negative", 0.0)),
            weight=float(row["weight"]),
            flagged=bool(row.get("flagged", False)),
        )


@dataclass
class Aggregation:
    contributions: list[PartyScore] = field(default_factory=list)
    contributors: list[PartyScore] = field(default_factory=list)
    flagged_records: list[int] = field(default_factory=list)
    threshold: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        def rows(parties: list[PartyScore]) -> list[dict[str, Any]]:
            return [dict(asdict(p), net=p.net) for p in parties]

        return {
            "contributions": rows(self.contributions),
            "contributors": rows(self.contributors),
            "flagged_records": self.flagged_records,
            "flag_threshold": self.threshold,
        }


def _keys(record: dict[str, Any]) -> tuple[str, str]:
    contributor = str(record.get("contributor") or UNKNOWN)
    return str(record.get("contribution") or contributor), contributor


def _summarise(groups: dict[str, PartyScore], threshold: float) -> list[PartyScore]:
    total_positive = sum(p.positive for p in groups.values())
    for party in groups.values():
        party.weight = party.positive / total_positive if total_positive > 0 else 0.0
        party.flagged = party.net < threshold
    return sorted(groups.values(), key=lambda p: (-p.weight, p.key))


def aggregate(scores: torch.Tensor, records: Sequence[dict[str, Any]], negative_flag_z: float) -> Aggregation:
    """scores: (n,) one score per training record, in the order of `records`."""
    values = scores.double().tolist()
    std = float(scores.double().std()) if len(values) > 1 else 0.0
    threshold = -negative_flag_z * std
    contributions: dict[str, PartyScore] = {}
    contributors: dict[str, PartyScore] = {}
    for record, value in zip(records, values, strict=True):
        for key, groups in zip(_keys(record), (contributions, contributors), strict=True):
            party = groups.setdefault(key, PartyScore(key))
            party.records += 1
            if value > 0:
                party.positive += value
            else:
                party.negative += value
    flagged = [i for i, v in enumerate(values) if std > 0 and v < threshold]
    return Aggregation(
        _summarise(contributions, threshold), _summarise(contributors, threshold), flagged, threshold
    )
