"""Receipts that pay the source (worker.attribution.source_weights through serve/explain.py): a record
that clearly stands out takes most of the answer's contributor share, diffuse evidence stays diffuse, an
answer with no evidence says "none" and pays the model-level weights, and near-copies cannot game it."""

from __future__ import annotations

import math

import pytest
import torch
from eth_utils.address import to_checksum_address

from worker.attribution.report import RecordProvenance
from worker.attribution.source_weights import SourceRule, source_masses, standardised
from worker.attribution.spans import SpanIndex
from worker.billing.receipts import json_hash
from worker.serve.explain import RecordOwners, attribute_answer, ppm_weights
from worker.serve.span_evidence import SpanSource

PEOPLE = [to_checksum_address("0x" + f"{i + 1:040x}") for i in range(8)]
ATTACKER = to_checksum_address("0x" + "a" * 40)
SOURCE = 5  # the record the answer came from (owned by PEOPLE[0])


def _owners(extra: list[str] | None = None) -> RecordOwners:
    """96 records, 12 per contributor (record 12 k + j belongs to PEOPLE[k]), then `extra` owners."""
    who = [PEOPLE[i // 12] for i in range(96)] + list(extra or [])
    return RecordOwners([RecordProvenance(f"{i:064x}", str(i), w) for i, w in enumerate(who)])


def _noise(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed))


def _weights(answer) -> dict[str, int]:
    return dict(zip(answer.contributors, answer.weights_ppm, strict=True))


def test_a_record_that_clearly_stands_out_gets_most_of_the_share():
    owners = _owners()
    scores = _noise(96) + 4  # every record helps a little (positive mass everywhere)
    scores[SOURCE] = 16.0
    answer = attribute_answer(owners, scores, {}, 5, 16)
    assert answer.basis == "answer" and answer.evidence["source"] == "record"
    assert _weights(answer)[PEOPLE[0]] > 900_000
    old = attribute_answer(owners, scores, {}, 5, 16, source=None)
    assert _weights(old)[PEOPLE[0]] < 400_000  # the positive-mass rule spreads it over everyone
    assert answer.evidence["rule"]["outlier"] == SourceRule().outlier  # the parameters travel along


def test_two_records_of_different_contributors_that_stand_out_together_share():
    owners = _owners()
    scores = _noise(96)
    scores[SOURCE], scores[12 + SOURCE] = 12.0, 12.0
    weights = _weights(attribute_answer(owners, scores, {}, 5, 16))
    assert weights[PEOPLE[0]] == pytest.approx(weights[PEOPLE[1]], abs=10) and weights[PEOPLE[0]] <= 500_010


def test_diffuse_evidence_stays_diffuse_and_no_evidence_says_none():
    owners = _owners()
    fallback = {p: 1.0 + k for k, p in enumerate(PEOPLE)}  # model-level weights
    for seed in range(20):  # a generated answer (spans looked for, none found), no standout record
        answer = attribute_answer(owners, _noise(96, seed), fallback, 5, 16, [])
        assert answer.basis == "model" and answer.evidence["source"] == "none", seed
        assert (answer.contributors, answer.weights_ppm) == ppm_weights(fallback, 16)
    flat = attribute_answer(owners, torch.ones(96), fallback, 5, 16, [])  # nothing tells records apart
    assert flat.basis == "model" and flat.evidence["source"] == "none"
    # the earlier rule paid such answers by their positive masses
    assert attribute_answer(owners, _noise(96), fallback, 5, 16, [], source=None).basis == "answer"
    # a classifier's label (no spans to look for) without a standout record stays spread over the
    # records that pull towards it, as before
    label = attribute_answer(owners, _noise(96), fallback, 5, 16)
    assert label.basis == "answer" and label.evidence["source"] == "spread"
    old = attribute_answer(owners, _noise(96), fallback, 5, 16, source=None)
    assert (label.contributors, label.weights_ppm) == (old.contributors, old.weights_ppm)
    # no scores at all (an empty completion): "none" too
    assert attribute_answer(owners, None, fallback, 5, 16, []).evidence["source"] == "none"


def test_span_evidence_without_a_standout_record_is_spread_by_the_positive_masses():
    texts = [f"filler text number {i} of contributor {i // 12}" for i in range(96)]
    texts[SOURCE] = "the capital of velmora is quennoville"
    source = SpanSource(
        SpanIndex(texts), [RecordProvenance(f"{i:064x}", str(i), PEOPLE[i // 12]) for i in range(96)]
    )
    owners = _owners()
    scores = _noise(96) + 4
    answer = attribute_answer(
        owners, scores, {}, 5, 16, source.find("the capital of velmora is quennoville .")
    )
    old = attribute_answer(
        owners, scores, {}, 5, 16, source.find("the capital of velmora is quennoville ."), source=None
    )
    assert answer.evidence["source"] == "spread" and answer.basis == "answer"
    assert (answer.contributors, answer.weights_ppm) == (old.contributors, old.weights_ppm)
    assert len(answer.contributors) == 8  # every contributor keeps its positive mass
    # the same copy with the record standing out in the gradients: the source takes most
    scores[SOURCE] = 16.0
    named = attribute_answer(
        owners, scores, {}, 5, 16, source.find("the capital of velmora is quennoville .")
    )
    assert named.evidence["source"] == "record" and _weights(named)[PEOPLE[0]] > 950_000


def test_near_copies_of_the_source_cannot_take_more_than_the_source():
    """An attacker holding 30 near-duplicates of the source record (each scoring about as high) gets its
    best record's share, not thirty: no more than the honest source, where the sum rule paid it several
    times the source."""
    honest = 24.0
    for copies, near in ((30, 0.999), (30, 1.0), (1, 1.0)):
        owners = _owners([ATTACKER] * copies)
        scores = torch.cat([_noise(96) + 4, torch.full((copies,), honest * near)])
        scores[SOURCE] = honest
        weights = _weights(attribute_answer(owners, scores, {}, 5, 16))
        assert weights[ATTACKER] <= weights[PEOPLE[0]] + 1, (copies, near)
        if copies == 30:
            old = _weights(attribute_answer(owners, scores, {}, 5, 16, source=None))
            assert old[ATTACKER] > 5 * old[PEOPLE[0]]
    # the copies' text held by the same 30 records: the span part shrinks with every copy (1 / r)
    texts = [f"filler text number {i}" for i in range(96)] + ["the capital of velmora is quennoville"] * 30
    texts[SOURCE] = "the capital of velmora is quennoville"
    who = [PEOPLE[i // 12] for i in range(96)] + [ATTACKER] * 30
    rows = [RecordProvenance(f"{i:064x}", str(i), w) for i, w in enumerate(who)]
    spans = SpanSource(SpanIndex(texts), rows).find("the capital of velmora is quennoville")
    scores = torch.cat([_noise(96) + 4, torch.full((30,), honest)])
    scores[SOURCE] = honest
    weights = _weights(attribute_answer(RecordOwners(rows), scores, {}, 5, 16, spans))
    assert weights[ATTACKER] <= weights[PEOPLE[0]] + 1


def test_the_rule_is_a_pure_function_of_the_scores_and_its_parameters():
    owners = _owners()
    scores = _noise(96)
    scores[SOURCE] = 6.0
    first = attribute_answer(owners, scores, {}, 5, 16)
    second = attribute_answer(_owners(), scores.clone(), {}, 5, 16)
    assert (first.contributors, first.weights_ppm) == (second.contributors, second.weights_ppm)
    assert json_hash(first.evidence) == json_hash(second.evidence)
    # standardising does not depend on the order the scores are summed in, nor on their scale
    values = scores.double().tolist()
    assert sorted(standardised(values).tolist()) == sorted(standardised(list(reversed(values))).tolist())
    assert standardised([3 * v for v in values]).tolist() == pytest.approx(standardised(values).tolist())
    # the threshold grows with the index as the largest of n noise scores does
    rule = SourceRule()
    assert rule.threshold(96) == pytest.approx(rule.outlier * math.sqrt(2 * math.log(96)))
    assert rule.threshold(100_000) > rule.threshold(96) and rule.threshold(1) == math.inf
    assert source_masses({"a": 9.0, "b": 1.0}, 9.0, 96, rule)["a"] == 1.0
    assert source_masses({"a": 2.0}, 2.0, 96, rule) == {}


def test_an_unpayable_standout_record_names_no_payable_source():
    """The standout record belongs to nobody payable (e.g. a scrape): the runner-up must not take it all."""
    who = [PEOPLE[i // 12] for i in range(96)]
    who[SOURCE] = "web-scrape"
    owners = RecordOwners([RecordProvenance(f"{i:064x}", str(i), w) for i, w in enumerate(who)])
    scores = _noise(96)
    scores[SOURCE], scores[20] = 30.0, 12.0
    fallback = {PEOPLE[2]: 1.0}
    answer = attribute_answer(owners, scores, fallback, 5, 16, [])
    assert answer.evidence["source"] == "none" and answer.basis == "model"


def test_many_look_alike_records_cannot_shrink_the_noise_scale():
    """An attacker adds 200 records that score about 0 (what a fitted model gives them), which would
    collapse an unweighted MAD and make its modest +2.5 record "the source" of most answers."""
    owners = _owners([ATTACKER] * 201)
    named = 0
    for seed in range(40):
        scores = torch.cat([_noise(96, seed), 1e-4 * _noise(200, seed + 99), torch.tensor([2.5])])
        named += attribute_answer(owners, scores, {PEOPLE[0]: 1.0}, 5, 16, []).evidence["source"] == "record"
    assert named <= 2


def test_scores_that_are_not_finite_are_no_evidence():
    owners = _owners()
    fallback = {PEOPLE[3]: 1.0}
    for bad in (math.nan, math.inf):
        scores = _noise(96)
        scores[SOURCE] = bad
        answer = attribute_answer(owners, scores, fallback, 5, 16, [])
        assert answer.evidence["source"] == "none" and answer.weights_ppm == [1_000_000]


def test_a_classifier_answer_without_positive_evidence_says_model_weights():
    owners = _owners()
    fallback = {PEOPLE[3]: 1.0}
    for scores in (None, -torch.ones(96)):
        answer = attribute_answer(owners, scores, fallback, 5, 16)
        assert answer.basis == "model" and answer.evidence["source"] == "none"
