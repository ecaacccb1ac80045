"""The engine end to end on tiny models: index, scores, model-level, reports and every bad input."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from worker.attribution import (
    Analyzer,
    AttributionArguments,
    AttributionIndex,
    FeatureArguments,
    ScoreArguments,
    attribute,
)
from worker.attribution.index import INDEX_CONFIG
from worker.errors import AttributionError

ARGS = AttributionArguments(features=FeatureArguments(projection_dim=64))
ALL = AttributionArguments(features=ARGS.features, score=ScoreArguments(query_checkpoints="all"))
FINAL = AttributionArguments(features=ARGS.features, score=ScoreArguments(query_checkpoints="final"))


@pytest.fixture
def model_dir(trained_bert, tmp_path):
    """A private copy, so tests may write indexes or tamper with files."""
    return shutil.copytree(trained_bert, tmp_path / "model")


@pytest.mark.parametrize("args", [FINAL, ALL], ids=["final-query", "all-checkpoint-queries"])
def test_scores_are_the_preconditioned_gradient_products(model_dir, records, args):
    analyzer = Analyzer(model_dir, args)
    train, validation = analyzer.split(records)
    index = analyzer.index(train)
    assert [m.name for m in index.members] == ["epoch-1", "epoch-2"] and index.size == len(train)
    feats, measurements, measured = analyzer.query_features(records[:3])
    scores = index.scores(feats)
    if args is ALL:  # each checkpoint's query gradient against its own checkpoint's training features
        expected = sum(-(q @ m.preconditioned.T) for q, m in zip(feats, index.members, strict=True)) / 2
    else:  # the final adapter's query gradient against every checkpoint's training features
        assert len(feats) == 1
        expected = sum(-(feats[0] @ m.preconditioned.T) for m in index.members) / 2
    torch.testing.assert_close(scores, expected)
    # Records of the query's own class push its margin up more than the other class on average.
    labels = torch.tensor([r["label"] == "pos" for r in train])
    own = torch.tensor([r["label"] == "pos" for r in records[:3]])
    same = torch.stack([scores[i][labels == own[i]].mean() for i in range(3)])
    other = torch.stack([scores[i][labels != own[i]].mean() for i in range(3)])
    assert (same > other).all()
    assert measurements.shape == (3,) and [q["label"] for q in measured] == [r["label"] for r in records[:3]]


def test_index_round_trips_and_detects_another_adapter(model_dir, records, trained_llama):
    analyzer = Analyzer(model_dir, ARGS)
    train, _ = analyzer.split(records)
    built = analyzer.index(train)
    loaded = AttributionIndex.load(model_dir)
    assert loaded.record_hashes == built.record_hashes
    assert all(
        torch.equal(a.preconditioned, b.preconditioned)
        for a, b in zip(built.members, loaded.members, strict=True)
    )
    config = json.loads((model_dir / INDEX_CONFIG).read_text())
    assert config["features"]["projection_dim"] == 64 and len(config["fingerprint"]) == 64
    # Swap the adapter weights under the index: loading must refuse, not silently mis-score.
    shutil.copy(model_dir / "checkpoints" / "epoch-1.safetensors", model_dir / "adapter_model.safetensors")
    with pytest.raises(AttributionError, match="built for another adapter"):
        AttributionIndex.load(model_dir)


def test_model_level_is_the_mean_over_validation_queries(model_dir, records):
    from worker.attribution import model_level_scores

    analyzer = Analyzer(model_dir, ARGS)
    train, validation = analyzer.split(records)
    index = analyzer.index(train)
    feats, _, _ = analyzer.query_features(validation)
    torch.testing.assert_close(model_level_scores(analyzer, index, validation), index.scores(feats).mean(0))


def test_report_is_complete_and_reproducible(model_dir, records):
    queries = [{"text": records[0]["text"]}, records[1]]  # the first is measured on the predicted label
    report = attribute(model_dir, records, queries, args=ARGS)
    data = json.loads(report.to_json())
    n_train = len(data["records"])
    assert len(data["scores"]) == 2 and all(len(row) == n_train for row in data["scores"])
    assert data["queries"][0]["label"] in ("neg", "pos") and len(data["queries"][0]["top"]) == 10
    top = data["queries"][1]["top"]
    assert [t["score"] for t in top] == sorted((t["score"] for t in top), reverse=True)
    assert top[0]["score"] == max(data["scores"][1])
    assert data["arguments"]["features"]["projection_dim"] == 64 and data["seeds"]["projection"] == 0
    assert {"torch", "transformers", "peft"} <= set(data["versions"])
    assert sum(c["weight"] for c in data["summary"]["contributors"]) == pytest.approx(1.0)
    assert data["model_level"]["validation_records"] > 0 and len(data["self_influence"]) == n_train
    assert attribute(model_dir, records, queries, args=ARGS).sha256() == report.sha256()


def test_generation_report_has_span_evidence(trained_llama, generation_data):
    query = {"prompt": "question 99:", "completion": "the answer is good great happy love"}
    report = attribute(trained_llama, generation_data, [query], args=ARGS)
    spans = report.queries[0]["spans"]
    assert spans and spans[0]["text"] == "the answer is good great happy love"
    assert report.queries[0]["measurement"] < 0


def test_bad_queries_and_records_are_refused(model_dir, records, trained_llama, generation_data):
    with pytest.raises(AttributionError, match="no queries"):
        attribute(model_dir, records, [], args=ARGS)
    with pytest.raises(AttributionError, match="not the ones the adapter was trained on"):
        attribute(model_dir, records[:-1], records[:1], args=ARGS)
    with pytest.raises(AttributionError, match="training records: the dataset is empty"):
        attribute(model_dir, [], records[:1], args=ARGS)
    with pytest.raises(AttributionError, match="not one of the model's labels"):
        attribute(model_dir, records, [{"text": "x", "label": "maybe"}], args=ARGS)
    with pytest.raises(AttributionError, match="empty completion"):
        attribute(trained_llama, generation_data, [{"prompt": "q", "completion": "  "}], args=ARGS)
    assert not (model_dir / INDEX_CONFIG).exists() or AttributionIndex.load(model_dir).size


@pytest.mark.parametrize("which", ["bert", "llama"])
def test_single_query_paths_equal_the_vmap_path(which, trained_bert, trained_llama, records, generation_data):
    """One query takes one stacked forward/backward over all checkpoints ("all") or one plain backward at
    the final adapter ("final"), then one projection; both must give the features and measurement of the
    batched torch.func path, and leave the model's modules and final weights as they were."""
    model_dir, query = (trained_bert, records[5]) if which == "bert" else (trained_llama, generation_data[3])
    analyzer = Analyzer(model_dir, ALL)
    final = {n: p.detach().clone() for n, p in analyzer.model.named_parameters() if p.requires_grad}
    modules = [type(m) for m in analyzer.model.modules()]
    assert analyzer.featurizer.can_stack_members()
    fast, fast_value, _ = analyzer.query_features([query])
    examples = analyzer.encode([query], "query")
    slow = [analyzer.featurizer.featurize(examples, "measurement") for _ in analyzer._each_member()]
    assert len(fast) == len(slow) == (2 if which == "bert" else 1)  # one member per epoch checkpoint
    for f, s in zip(fast, slow, strict=True):
        assert f.shape == s.features.shape == (1, 64)
        torch.testing.assert_close(f, s.features, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast_value, slow[-1].values, atol=1e-5, rtol=1e-5)
    assert len(fast) == 1 or not torch.equal(fast[0], fast[1])  # each checkpoint's own weights used
    final_only, final_value, _ = Analyzer(model_dir, FINAL, loaded=analyzer.loaded).query_features([query])
    assert len(final_only) == 1
    torch.testing.assert_close(final_only[0], slow[-1].features, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(final_value, fast_value)
    assert [type(m) for m in analyzer.model.modules()] == modules
    for name, param in analyzer.model.named_parameters():
        if name in final:
            assert torch.equal(param, final[name])


@pytest.mark.parametrize("args", [FINAL, ALL, ALL], ids=["final", "stacked", "per-member"])
def test_an_unlabelled_query_is_measured_on_the_prediction_of_the_same_pass(
    trained_bert, records, args, request
):
    """Serving answers and attributes from one forward pass: the label and logits it returns are the
    model's own prediction, and the features are those of the query labelled with that prediction."""
    analyzer = Analyzer(trained_bert, args)
    if request.node.callspec.id == "per-member":  # a model whose checkpoints cannot share a stacked pass
        analyzer.featurizer.can_stack_members = lambda: False
    for record in records[:4]:
        measured = analyzer.measure_query({"text": record["text"]})
        torch.testing.assert_close(measured.logits, analyzer.logits(record["text"]), atol=1e-5, rtol=1e-5)
        label = analyzer.predict(record["text"])
        assert measured.query == {"text": record["text"], "label": label}
        labelled = analyzer.measure_query({"text": record["text"], "label": label})
        assert len(measured.features) == len(labelled.features) == (1 if args is FINAL else 2)
        for got, want in zip(measured.features, labelled.features, strict=True):
            torch.testing.assert_close(got, want)
        torch.testing.assert_close(measured.measurement, labelled.measurement)
        other = next(name for name in analyzer.spec.labels if name != label)
        wrong = analyzer.measure_query({"text": record["text"], "label": other})
        assert not torch.allclose(wrong.features[-1], measured.features[-1])  # the label measured matters


def test_compiled_query_path_gives_the_eager_features(trained_bert, records):
    """compile_queries only changes how the one-query step runs (float rounding), never what it computes.
    It compiles the final-adapter step (the stacked every-checkpoint pass runs eagerly)."""
    compiled_args = AttributionArguments(
        features=ARGS.features, score=ScoreArguments(compile_queries=True, query_checkpoints="final")
    )
    eager = Analyzer(trained_bert, FINAL)
    compiled = Analyzer(trained_bert, compiled_args, loaded=eager.loaded)
    for query in records[:3]:
        want, want_value, _ = eager.query_features([query])
        got, got_value, _ = compiled.query_features([query])
        torch.testing.assert_close(got[0], want[0], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(got_value, want_value, rtol=1e-5, atol=1e-6)
    assert compiled.featurizer.compiled  # it really ran compiled: no fallback to eager
