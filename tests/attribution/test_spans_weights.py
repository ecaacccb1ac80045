"""How spans move a receipt's weights (worker.attribution.span_weights through serve/explain.py), and the
span evidence of adapters trained before span indexes existed."""

from __future__ import annotations

import random
from fractions import Fraction
from types import SimpleNamespace

import pytest
import torch
from eth_utils.address import to_checksum_address

from worker.attribution.arguments import SpanArguments
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
    unshared = source.find("nothing here is shared with a record")
    before = attribute_answer(owners, flat, {}, 5, 32, unshared, source=None)  # the rule before sources
    assert before.weights_ppm == ppm_weights(owners.masses(flat), 32)[1]
    # flat gradients and no span: no record is evidence (tests/serve/test_explain_sources.py)
    without = attribute_answer(owners, flat, {}, 5, 32, unshared)
    assert without.basis == "model" and without.evidence["source"] == "none"


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


def _reference_masses(spans, owner, min_words: int) -> dict[str, Fraction]:
    """Rule 1-2 by brute force, in exact arithmetic: each covered min_words-gram position is worth 1 / r
    (r: records of the spans covering it), shared equally by their c contributors."""
    masses: dict[str, Fraction] = {}
    for p in range(max((s.output_start + s.length for s in spans), default=0)):
        cover = [
            s
            for s in spans
            if s.records and s.output_start <= p and p + min_words <= s.output_start + s.length
        ]
        records = {r for s in cover for r in s.records}
        holders = {owner(r) for r in records}
        for holder in holders:
            masses[holder] = masses.get(holder, Fraction(0)) + Fraction(1, len(records) * len(holders))
    return masses


def test_the_span_mass_of_an_answer_is_at_most_its_number_of_positions():
    rng = random.Random(5)
    overlapping = 0
    for _ in range(300):
        vocabulary = [f"w{k}" for k in range(rng.randint(2, 6))]
        docs = [[rng.choice(vocabulary) for _ in range(rng.randint(0, 16))] for _ in range(rng.randint(1, 8))]
        out = [rng.choice([*vocabulary, "unseen"]) for _ in range(rng.randint(0, 24))]
        if docs[0] and rng.random() < 0.5:  # sliding windows over one passage, in records of their own
            width = rng.randint(2, 6)
            docs += [docs[0][i : i + width] for i in range(max(len(docs[0]) - width + 1, 0))]
        minimum = rng.randint(1, 4)
        owners = [rng.choice("abc") for _ in docs]
        index = SpanIndex([" ".join(d) for d in docs], SpanArguments(min_words=minimum, max_spans=3))
        spans = index.find_all(" ".join(out))
        masses = span_masses(spans, owners.__getitem__, minimum)
        assert sum(masses.values()) <= max(len(out) - minimum + 1, 0) + 1e-9, (docs, out, minimum)
        reference = _reference_masses(spans, owners.__getitem__, minimum)
        assert masses == pytest.approx({k: float(v) for k, v in reference.items()}), (docs, out, minimum)
        covered = [
            set(range(s.output_start, s.output_start + s.length - minimum + 1)) for s in spans if s.records
        ]
        if any(a & b for i, a in enumerate(covered) for b in covered[:i]):
            overlapping += 1
        else:  # spans that share no position: exactly the per-span rule (L - min_words + 1) / (r c)
            old: dict[str, float] = {}
            for s in spans:
                if s.records:
                    holders = sorted({owners[r] for r in s.records})
                    for h in holders:
                        old[h] = old.get(h, 0.0) + (s.length - minimum + 1) / (len(s.records) * len(holders))
            assert masses == old
    assert overlapping > 30  # the property was tested where it matters


H, A, G, Q = (to_checksum_address("0x" + f"{k:040x}") for k in (0xA1, 0xA2, 0xA3, 0xA4))
WORDS = [f"t{i}" for i in range(68)]


def _passage(a: int, b: int) -> str:
    return " ".join(WORDS[a:b])


def _weights(records: list[tuple[str, str]], output: str, max_spans: int = 20):
    """Receipt weights of `output` over `records` ((text, contributor)) plus a gradient-only record of G."""
    records = [*records, ("a record the gradients point at", G)]
    owners = [RecordProvenance(f"{i:064x}", str(i), who) for i, (_, who) in enumerate(records)]
    index = SpanIndex([t for t, _ in records], SpanArguments(max_spans=max_spans), [o.hash for o in owners])
    source = SpanSource(index, owners)
    scores = torch.tensor([0.0] * (len(records) - 1) + [1.0])
    found = source.find(output)
    answer = attribute_answer(RecordOwners(owners), scores, {}, 5, 32, found)
    return dict(zip(answer.contributors, answer.weights_ppm, strict=True)), found


def test_sliding_windows_over_a_passage_earn_no_more_than_the_passage():
    output = _passage(0, 60)
    honest_h, honest_a = (_passage(0, 30), H), (_passage(20, 60), A)
    honest, _ = _weights([honest_h, honest_a], output)
    windows = [(_passage(s, s + 12), A) for s in range(20, 49)]  # 29 records of 12-word windows
    attacked, found = _weights([honest_h, *windows], output)
    masses = span_masses(found.spans, lambda r: (H, *[A] * 29, G)[r], 4)
    assert sum(masses.values()) <= 60 - 4 + 1 and masses[A] < masses[H] < 27  # not 171 and 27
    assert attacked[H] >= honest[H] and attacked[A] <= honest[A]
    assert honest[H] > 150_000 and honest[A] > 250_000  # both honestly copied passages move weight
    # the same windows spread over 29 addresses (sybils) get no more together, and take nothing from H
    sybils = [to_checksum_address("0x" + f"{0xB000 + s:040x}") for s in range(29)]
    spread, _ = _weights([honest_h, *[(t, sybils[k]) for k, (t, _) in enumerate(windows)]], output)
    assert spread[H] >= honest[H] and sum(spread.get(s, 0) for s in sybils) <= honest[A]


def test_overlapping_spans_do_not_crowd_other_spans_out_of_the_evidence_or_the_weights():
    output = _passage(0, 68)  # words 60-67 are Q's 8-word record, shorter than every window
    windows = [(_passage(s, s + 12), A) for s in range(20, 49)]
    records = [(_passage(0, 30), H), *windows, (_passage(60, 68), Q)]
    weights, found = _weights(records, output)
    assert len(found) == 20 and len(found.spans) == 31  # 20 shown, all 31 weighed
    shown = [(row["words"], row["contributor"]) for row in found]
    assert shown[0] == (30, H) and (8, Q) in shown  # the longest 20 would have been H and 19 windows
    honest, _ = _weights([(_passage(0, 30), H), (_passage(20, 60), A), (_passage(60, 68), Q)], output)
    assert weights[Q] >= honest[Q] > 0 and weights[H] >= honest[H]
    # weights do not depend on how many spans are shown
    assert _weights(records, output, max_spans=2)[0] == weights
