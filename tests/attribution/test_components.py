"""Each attribution component alone: per-example gradients, projection, preconditioner, aggregation, spans."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from worker.attribution import SpanIndex, aggregate
from worker.attribution.arguments import (
    AttributionArguments,
    FeatureArguments,
    PreconditionerArguments,
    ScoreArguments,
    SpanArguments,
)
from worker.attribution.gradients import GradientFeaturizer, tracked_parameters
from worker.attribution.preconditioner import Preconditioner
from worker.attribution.projection import RandomProjector
from worker.attribution.tasks import ClassificationTask, LanguageModelTask
from worker.errors import AttributionError
from worker.train import load_trained
from worker.train.batches import collate, encode_records


def _autograd_grads(model, batch, scalar_fn, params):
    """The reference: one plain forward/backward per example through the model's own mask handling."""
    rows = []
    for i in range(batch["input_ids"].shape[0]):
        length = int(batch["attention_mask"][i].sum())
        logits = model(
            input_ids=batch["input_ids"][i : i + 1, :length],
            attention_mask=batch["attention_mask"][i : i + 1, :length],
        ).logits[0]
        target = batch["labels"][i] if batch["labels"].dim() == 1 else batch["labels"][i, :length]
        grads = torch.autograd.grad(scalar_fn(logits, target), list(params.values()))
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


@pytest.mark.parametrize("kind", ["loss", "measurement"])
def test_per_example_gradients_match_an_autograd_loop_classifier(trained_bert, records, kind):
    loaded = load_trained(trained_bert)
    model = loaded.model.eval()
    examples = encode_records(
        records[:6], loaded.tokenizer, "classification", loaded.spec.labels, 16
    ).examples
    task = ClassificationTask()
    featurizer = GradientFeaturizer(
        model,
        task,
        FeatureArguments(projection_dim=0, batch_size=4, lora_layers=1.0),
        loaded.tokenizer.pad_token_id,
        torch.device("cpu"),
    )
    got = featurizer.featurize(examples, kind).features
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    fn = task.training_loss if kind == "loss" else task.measurement
    expected = _autograd_grads(model, collate(examples, loaded.tokenizer.pad_token_id), fn, params)
    assert got.shape == expected.shape and expected.abs().max() > 0
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)


def test_per_example_gradients_match_an_autograd_loop_causal_lm(trained_llama, generation_data):
    loaded = load_trained(trained_llama)
    model = loaded.model.eval()
    examples = encode_records(generation_data[:5], loaded.tokenizer, "generation", (), 24).examples
    task = LanguageModelTask()
    featurizer = GradientFeaturizer(
        model,
        task,
        FeatureArguments(projection_dim=0, batch_size=3, lora_layers=1.0),
        loaded.tokenizer.pad_token_id,
        torch.device("cpu"),
    )
    out = featurizer.featurize(examples, "measurement")
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    expected = _autograd_grads(
        model, collate(examples, loaded.tokenizer.pad_token_id), task.measurement, params
    )
    torch.testing.assert_close(out.features, expected, rtol=1e-4, atol=1e-6)
    assert (out.values < 0).all()  # log-likelihoods


def test_tracked_parameters_are_the_top_lora_blocks_and_the_head(trained_bert):
    model = load_trained(trained_bert).model  # two LoRA-adapted blocks: layer.0 and layer.1

    def tracked(**kwargs):
        names = tracked_parameters(model, FeatureArguments(**kwargs))
        return {"head" if "modules_to_save" in n else n.split(".layer.")[1].split(".")[0] for n in names}

    assert tracked(lora_layers=1.0) == {"0", "1", "head"}
    assert tracked(lora_layers=0.5) == tracked(lora_layers=0.1) == {"1", "head"}  # from the top, at least one
    assert tracked(lora_layers=0.75) == {"0", "1", "head"}  # to the nearest block
    assert tracked(lora_layers=0.0) == {"head"}
    assert tracked(lora_layers=1.0, include_head=False) == {"0", "1"}
    with pytest.raises(AttributionError, match="no parameters"):
        AttributionArguments(features=FeatureArguments(lora_layers=0.0, include_head=False))


def test_gradients_of_the_top_blocks_match_autograd_and_stop_there(trained_bert, records):
    """With half the blocks tracked, features are exactly those parameters' gradients (the lower LoRA
    matrices get none, and no graph is kept through them)."""
    loaded = load_trained(trained_bert)
    model = loaded.model.eval()
    examples = encode_records(
        records[:5], loaded.tokenizer, "classification", loaded.spec.labels, 16
    ).examples
    task = ClassificationTask()
    args = FeatureArguments(projection_dim=0, batch_size=2, lora_layers=0.5)
    featurizer = GradientFeaturizer(model, task, args, loaded.tokenizer.pad_token_id, torch.device("cpu"))
    out = featurizer.featurize(examples, "loss")
    params = {n: p for n, p in model.named_parameters() if p.requires_grad and ".layer.0." not in n}
    expected = _autograd_grads(
        model, collate(examples, loaded.tokenizer.pad_token_id), task.training_loss, params
    )
    torch.testing.assert_close(out.features, expected, rtol=1e-4, atol=1e-6)
    assert not out.features.requires_grad
    one = featurizer.flat_gradient(examples[0], "loss")
    torch.testing.assert_close(one.flat, expected[:1], rtol=1e-4, atol=1e-6)


def test_projection_is_seeded_and_preserves_geometry():
    shapes = {"a": torch.Size([300, 4]), "b": torch.Size([500])}
    grads = {"a": torch.randn(6, 300, 4), "b": torch.randn(6, 500)}
    one = RandomProjector(shapes, 512, "rademacher", seed=1, device=torch.device("cpu")).project(grads)
    again = RandomProjector(shapes, 512, "rademacher", seed=1, device=torch.device("cpu")).project(grads)
    other = RandomProjector(shapes, 512, "rademacher", seed=2, device=torch.device("cpu")).project(grads)
    assert torch.equal(one, again) and not torch.equal(one, other)
    full = torch.cat([grads["a"].reshape(6, -1), grads["b"]], dim=1)
    ratio = one.norm(dim=1) / full.norm(dim=1)
    assert ((ratio > 0.8) & (ratio < 1.2)).all()  # Johnson-Lindenstrauss: norms kept within ~10%
    identity = RandomProjector(shapes, 0, "gaussian", seed=1, device=torch.device("cpu")).project(grads)
    assert torch.equal(identity, full)


def test_count_sketch_is_a_seeded_balanced_signed_projection():
    torch.manual_seed(0)
    shapes = {"a": torch.Size([300, 4]), "b": torch.Size([500])}
    grads = {"a": torch.randn(6, 300, 4), "b": torch.randn(6, 500)}
    sketch = RandomProjector(shapes, 256, "sketch", seed=1, device=torch.device("cpu"))
    one = sketch.project(grads)
    again = RandomProjector(shapes, 256, "sketch", seed=1, device=torch.device("cpu")).project(grads)
    other = RandomProjector(shapes, 256, "sketch", seed=2, device=torch.device("cpu")).project(grads)
    assert one.shape == (6, 256) and torch.equal(one, again) and not torch.equal(one, other)
    # Each coordinate lands in exactly one bucket with a sign; buckets hold ceil(1700 / 256) = 7 at most.
    matrix = sketch.matrix
    assert (matrix.abs().sum(1) == 1).all() and matrix.abs().sum(0).max() == 7
    full = sketch.flatten(grads)
    torch.testing.assert_close(one, full @ matrix)
    ratio = one.norm(dim=1) / full.norm(dim=1)
    assert ((ratio > 0.8) & (ratio < 1.2)).all()
    # Inner products are kept in expectation: averaged over seeds, close to the exact Gram matrix.
    grams = [
        (lambda f: f @ f.T)(RandomProjector(shapes, 256, "sketch", s, torch.device("cpu")).project(grads))
        for s in range(40)
    ]
    torch.testing.assert_close(torch.stack(grams).mean(0), full @ full.T, atol=0.05 * 1700, rtol=0)


def test_preconditioner_equals_the_explicit_damped_inverse():
    phi = torch.randn(50, 8, dtype=torch.float64) * torch.linspace(0.1, 3, 8, dtype=torch.float64)
    pre = Preconditioner.fit(phi.float(), PreconditionerArguments(damping_ratio=0.5))
    second = phi.T @ phi / 50
    assert pre.damping == pytest.approx(0.5 * float(torch.linalg.eigvalsh(second).mean()), rel=1e-6)
    explicit = torch.linalg.inv(second + pre.damping * torch.eye(8, dtype=torch.float64))
    torch.testing.assert_close(pre.inverse.double(), explicit, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(pre.apply(phi.float()).double(), phi @ explicit, rtol=1e-4, atol=1e-5)


def test_bad_arguments_are_refused():
    with pytest.raises(AttributionError, match="damping_ratio"):
        AttributionArguments(preconditioner=PreconditionerArguments(damping_ratio=0))
    with pytest.raises(AttributionError, match="checkpoints"):
        AttributionArguments(features=FeatureArguments(checkpoints="some"))
    with pytest.raises(AttributionError, match="query_checkpoints"):
        AttributionArguments(score=ScoreArguments(query_checkpoints="first"))
    with pytest.raises(AttributionError, match="projection_kind"):
        AttributionArguments(features=FeatureArguments(projection_kind="sparse"))
    args = AttributionArguments(features=FeatureArguments(projection_dim=64))
    assert AttributionArguments.from_dict(args.to_dict()) == args


def _with_default(monkeypatch, cls, field: str, value: object) -> None:
    """Make `value` the dataclass's default for `field` (every field of these has one, in order)."""
    names = [f.name for f in dataclasses.fields(cls)]
    defaults = list(cls.__init__.__defaults__)
    defaults[names.index(field)] = value
    monkeypatch.setattr(cls.__init__, "__defaults__", tuple(defaults))


def test_arguments_recorded_before_a_knob_existed_read_as_what_ran(monkeypatch):
    """An old report's arguments name fewer knobs; each missing one reads as what that code did, not as
    today's default (a verifier recomputes the report with them): here the defaults are made other
    values, so reading them as defaults would show."""
    _with_default(monkeypatch, FeatureArguments, "lora_layers", 0.5)
    _with_default(monkeypatch, ScoreArguments, "query_checkpoints", "final")
    assert FeatureArguments().lora_layers == 0.5 and ScoreArguments().query_checkpoints == "final"
    old = AttributionArguments.from_dict({"features": {"projection_dim": 64}, "score": {"top_k": 5}})
    assert old.features.lora_layers == 1.0  # every LoRA block was tracked
    assert old.score.query_checkpoints == "all"  # each query's gradient was taken at every checkpoint
    assert old.model_level.method == "gradients"
    final = AttributionArguments(score=ScoreArguments(query_checkpoints="final"))
    assert AttributionArguments.from_dict(final.to_dict()).score.query_checkpoints == "final"


def test_aggregation_pays_positive_scores_only_and_flags_harm():
    records = [
        {"contributor": "alice", "contribution": "cid-1"},
        {"contributor": "alice", "contribution": "cid-2"},
        {"contributor": "bob"},
        {"contributor": "carol"},
    ] + [{"contributor": "dave"}] * 16
    scores = torch.tensor([3.0, 1.0, 2.0, -20.0] + [0.0] * 16)
    result = aggregate(scores, records, negative_flag_z=2.0)
    weights = {p.key: p.weight for p in result.contributors}
    assert weights["alice"] == pytest.approx(4 / 6) and weights["bob"] == pytest.approx(2 / 6)
    assert weights["carol"] == 0 and sum(weights.values()) == pytest.approx(1.0)
    assert {p.key for p in result.contributions} == {"cid-1", "cid-2", "bob", "carol", "dave"}
    assert {p.key: p.records for p in result.contributors}["dave"] == 16
    assert result.flagged_records == [3]
    assert [p.key for p in result.contributors if p.flagged] == ["carol"]
    # Sums are preserved from records to contributions to contributors.
    total = sum(p.net for p in result.contributors)
    assert (
        total == pytest.approx(float(scores.sum())) == pytest.approx(sum(p.net for p in result.contributions))
    )


def test_span_evidence_finds_the_longest_exact_copies():
    train = [
        "The quick brown fox jumps over the lazy dog",
        "an unrelated record about ledgers and tokens",
        "lazy dog sleeps all day long",
    ]
    index = SpanIndex(train, SpanArguments(min_words=3))
    spans = index.find("Yesterday the quick brown fox jumps over a fence; the lazy dog sleeps all day.")
    best = spans[0]
    assert (best.record, best.length, best.text) == (0, 6, "the quick brown fox jumps over")
    assert best.output_start == 1 and best.record_start == 0
    assert any(s.record == 2 and s.text == "lazy dog sleeps all day" for s in spans)
    assert index.find("nothing in common here at all") == []
    assert SpanIndex(train, SpanArguments(min_words=10)).find(train[0]) == []
