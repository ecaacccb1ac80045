"""One ppm rule for the attribution root and for receipts, and the attribution report read back typed."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from worker.attribution.aggregate import Aggregation, PartyScore
from worker.attribution.report import AttributionReport, RecordProvenance
from worker.attribution.shares import ppm_shares
from worker.errors import AttributionError
from worker.jobs import contributor_weights
from worker.serve.explain import model_level_masses, ppm_weights
from worker.units import PPM

A, B, C = (to_checksum_address("0x" + c * 40) for c in "abc")  # reports carry checksummed contributors


def test_shares_sum_to_exactly_one_million_with_the_remainder_to_the_largest() -> None:
    shares = ppm_shares({A: 1.0, B: 1.0, C: 1.0})
    first, second, third = sorted([A, B, C])  # ties ranked by key (the string: "0xC…" before "0xa…")
    assert shares == [(first, 333_334), (second, 333_333), (third, 333_333)]
    assert sum(s for _, s in shares) == PPM


def test_only_positive_masses_count_and_a_limit_keeps_the_largest() -> None:
    assert ppm_shares({A: -5.0, B: 0.0}) == []
    assert ppm_shares({A: 1.0, B: 3.0, C: -2.0}) == [(B, 750_000), (A, 250_000)]
    assert ppm_shares({A: 1.0, B: 3.0, C: 2.0}, limit=2) == [(B, 600_000), (C, 400_000)]


def test_a_share_that_rounds_to_zero_is_dropped() -> None:
    assert ppm_shares({A: 1.0, B: 1e-9}) == [(A, PPM)]


def _report(contributors: list[PartyScore]) -> AttributionReport:
    level = Aggregation(contributors=contributors).to_dict()
    return AttributionReport(
        model={}, arguments={}, seeds={}, versions={},
        records=[{"hash": "h1", "contributor": A, "contribution": "c1"}],
        queries=[], scores=[], summary={}, model_level={"validation_records": 1, **level},
    )


def test_the_root_and_a_model_basis_receipt_carry_the_same_weights() -> None:
    report = _report([
        PartyScore(A, records=3, positive=2.0, weight=2 / 3),
        PartyScore(B, records=1, positive=1.0, weight=1 / 3, flagged=True),
        PartyScore(C, records=1, negative=-1.0),
    ])
    root_weights, flagged = contributor_weights(report)
    contributors, weights = ppm_weights(model_level_masses(report), max_contributors=16)
    assert dict(zip(contributors, weights, strict=True)) == root_weights == {A: 666_667, B: 333_333}
    assert sum(root_weights.values()) == PPM and flagged == [B]


def test_a_report_round_trips_through_its_dict_and_refuses_other_shapes() -> None:
    report = _report([PartyScore(A, records=1, positive=1.0, weight=1.0)])
    again = AttributionReport.from_dict(report.to_dict())
    assert again == report
    assert again.model_level_contributors() == [PartyScore(A, records=1, positive=1.0, weight=1.0)]
    assert again.record_provenance() == [RecordProvenance("h1", "c1", A)]
    assert AttributionReport.from_dict({**report.to_dict(), "newer": 1}) == report  # a newer writer's field
    with pytest.raises(AttributionError, match="missing"):
        AttributionReport.from_dict({"model": {}})
    with pytest.raises(AttributionError, match="JSON object"):
        AttributionReport.from_dict([])  # type: ignore[arg-type]
