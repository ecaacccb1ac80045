"""How spans move a receipt's weights (worker.attribution.span_weights through serve/explain.py), and the
span evidence of adapters trained before span indexes existed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from eth_utils.address import to_checksum_address

from worker.attribution.report import RecordProvenance
from worker.attribution.span_weights import SpanWeightRule, combine_masses, span_masses
from worker.attribution.spans import SpanIndex
from worker.billing.receipts import json_hash
from worker.serve import loading
from worker.serve.explain import RecordOwners, attribute_answer, ppm_weights
from worker.serve.span_evidence import SpanSource

BOILERPLATE = "thank you for your question , here is what i found"
FACT = "the capital of zorbia is quuxville , founded in 1802 by admiral plonk"
RARE = to_checksum_address("0x" + "c" * 40)
OTHERS = [to_checksum_address("0x" + f"{i:040x}") for i in range(1, 21)]


def _corpus() -> tuple[list[str], list[RecordProvenance]]:
    texts, owners = [], []
    for i, who in enumerate(OTHERS):
        texts.append(f"{BOILERPLATE} . record {i} talks about topic {i} and nothing else")
        owners.append(RecordProvenance(f"{i:064x}", str(i), who))
    texts.append(f"some notes . {FACT} . end of notes")
    owners.append(RecordProvenance(f"{99:064x}", "99", RARE))
    return texts, owners


def _source() -> tuple[SpanSource, RecordOwners]:
    texts, owners = _corpus()
    return SpanSource(SpanIndex(texts, record_hashes=[o.hash for o in owners]), owners), RecordOwners(owners)


ANSWER = f"{BOILERPLATE} : {FACT} !"


def test_a_rare_long_span_moves_weight_to_its_contributor_and_boilerplate_moves_none():
    source, owners = _source()
    spans = source.find(ANSWER)
    assert [(s["text"], s["records"]) for s in spans] == [(FACT, 1), (BOILERPLATE, 20)]
    assert spans[0]["contributor"] == RARE and spans[0]["record"] == f"{99:064x}"
    by_owner = span_masses(spans.spans, lambda r: source.owners[r].contributor, 4)
    assert by_owner[RARE] == 10.0  # 13 words, one record
    assert all(by_owner[o] == 8 / 20 / 20 for o in OTHERS)  # 11 words held by 20 records of 20 contributors
    flat = torch.ones(len(owners))  # gradients that cannot tell the records apart
    answer = attribute_answer(owners, flat, {}, 5, 32, spans)
    weights = dict(zip(answer.contributors, answer.weights_ppm, strict=True))
    assert answer.basis == "answer" and sum(answer.weights_ppm) == 1_000_000
    rule = SpanWeightRule()
    expected = (1 - rule.contributor_cap - 20 * rule.share * (0.02 / 10.4)) / 21 + rule.contributor_cap
    assert weights[RARE] == pytest.approx(expected * 1e6, abs=5)
    assert max(weights[o] for o in OTHERS) < 1e6 / 21  # boilerplate holders gain nothing over the flat share
    without = attribute_answer(owners, flat, {}, 5, 32, source.find("nothing here is shared with a record"))
    assert without.weights_ppm == ppm_weights(owners.masses(flat), 32)[1]


def test_weights_are_the_same_bytes_for_the_same_answer():
    source, owners = _source()
    scores = torch.linspace(-1, 1, len(owners))
    first = attribute_answer(owners, scores, {}, 5, 32, source.find(ANSWER))
    second = attribute_answer(owners, scores.clone(), {}, 5, 32, _source()[0].find(ANSWER))
    assert (first.contributors, first.weights_ppm) == (second.contributors, second.weights_ppm)
    assert json_hash(first.evidence) == json_hash(second.evidence)


def test_one_contributor_gets_at_most_the_cap_through_spans():
    source, owners = _source()
    only_others = torch.tensor([1.0] * 20 + [0.0])  # gradients say nothing for the rare record
    answer = attribute_answer(owners, only_others, {}, 5, 32, source.find(ANSWER))
    weights = dict(zip(answer.contributors, answer.weights_ppm, strict=True))
    assert weights[RARE] == pytest.approx(
        SpanWeightRule().contributor_cap * 1e6, abs=30
    )  # + the rounding remainder
    # no gradient evidence at all: the spans stand beside the model-level weights
    fallback = {OTHERS[0]: 1.0}
    spanned = attribute_answer(owners, None, fallback, 5, 32, source.find(ANSWER))
    assert (
        spanned.basis == "answer"
        and dict(zip(spanned.contributors, spanned.weights_ppm, strict=True))[RARE] > 0
    )
    assert attribute_answer(owners, None, fallback, 5, 32, []).basis == "model"


def test_copying_a_span_into_more_records_earns_less():
    def mass(copies: int) -> float:
        texts = [FACT] * copies + ["unrelated words in a record"]
        index = SpanIndex(texts)
        return span_masses(index.find(FACT), lambda r: "copier" if r < copies else "x", 4)["copier"]

    assert mass(1) > mass(2) > mass(5)
    assert combine_masses({"a": 2.0}, {}) == {"a": 2.0}
    short = combine_masses({"a": 1.0}, {"b": 1.0})  # one unique 4-word span: a fifth of the share
    assert short["b"] == pytest.approx(0.1) and sum(short.values()) == pytest.approx(1.0)


def test_an_adapter_without_a_span_index_gets_one_built_in_memory(tmp_path, monkeypatch):
    texts, owners = _corpus()
    rows = [
        SimpleNamespace(
            record={"text": t}, contributor=o.contributor, contribution_id=int(o.contribution), index=0
        )
        for t, o in zip(texts, owners, strict=True)
    ]
    from worker.train.records import record_hash

    hashes = [
        record_hash(
            {"text": r.record["text"], "contributor": r.contributor, "contribution": str(r.contribution_id)}
        )
        for r in rows
    ]
    provenance = [
        RecordProvenance(h, o.contribution, o.contributor) for h, o in zip(hashes, owners, strict=True)
    ]
    monkeypatch.setattr(loading, "load_published_version", lambda *a, **k: (None, list(reversed(rows))))
    model = SimpleNamespace(datanet_id=1, version_id=1)
    source = loading._span_source(None, None, model, tmp_path, RecordOwners(provenance))  # type: ignore[arg-type]
    assert source.find(ANSWER)[0]["contributor"] == RARE and not SpanIndex.exists(tmp_path)
    # a saved index is memory-mapped, and one built for other records is refused
    SpanIndex(texts, record_hashes=hashes).save(tmp_path)
    assert (
        loading._span_source(None, None, model, tmp_path, RecordOwners(provenance)).find(ANSWER)[0]["records"]
        == 1
    )  # type: ignore[arg-type]
    with pytest.raises(Exception, match="built for other training records"):
        loading._span_source(None, None, model, tmp_path, RecordOwners(provenance[:-1]))  # type: ignore[arg-type]
