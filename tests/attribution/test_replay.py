"""Exact model-level attribution by replaying training (worker/attribution/replay.py): the replay must
reproduce the trained adapter bit for bit, its metagradients must be the derivative of the fixed-seed
counterfactual (checked by finite differences of real retrains), segments must not change a number, and
removing records must move the measurement as the scores predict."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from tinymodels import generation_records, sentiment_records

from worker.attribution.replay import _update, replay_scores, retrain_with_weights
from worker.errors import AttributionError
from worker.train import TrainingSpec, train
from worker.train.records import split_positions
from worker.train.trainer import make_optimizer


def _targets(records: list[dict], spec: TrainingSpec) -> list[dict]:
    return [records[i] for i in split_positions(records, spec.validation_fraction).validation]


@pytest.fixture(scope="module")
def classifier(tiny_bert, tmp_path_factory) -> tuple[Path, TrainingSpec, list[dict]]:
    records = sentiment_records(32)
    spec = TrainingSpec(
        base_model=str(tiny_bert), epochs=2, batch_size=8, lr=5e-3, max_length=16, validation_fraction=0.25
    )
    out = tmp_path_factory.mktemp("replay") / "model"
    train(spec, records, out)
    return out, TrainingSpec.from_json((out / "spec.json").read_text()), records


def test_replay_reproduces_the_adapter_and_matches_finite_differences(classifier) -> None:
    model_dir, spec, records = classifier
    targets = _targets(records, spec)
    result = replay_scores(model_dir, records, targets)
    assert result.max_abs_diff == 0.0  # the replay is the run, bit for bit
    n = result.scores.shape[0]
    assert n == len(records) - len(targets) and torch.isfinite(result.scores).all()
    assert result.steps == spec.epochs * -(-n // spec.batch_size)
    base = retrain_with_weights(spec, records, targets, torch.ones(n))
    assert base == pytest.approx(result.measurement, abs=1e-5)
    # a step of 1e-3 in one weight: on this random tiny model the run's response already bends at 1e-2
    eps = 1e-3
    for i in np.argsort(-result.scores.abs().numpy())[:3]:
        up, down = torch.ones(n), torch.ones(n)
        up[i], down[i] = 1 + eps, 1 - eps
        numeric = (
            retrain_with_weights(spec, records, targets, up)
            - retrain_with_weights(spec, records, targets, down)
        ) / (2 * eps)
        print(i, float(result.scores[i]), numeric)
        assert float(result.scores[i]) == pytest.approx(numeric, rel=0.05, abs=1e-4)


def test_segments_kept_or_replayed_give_the_same_bits(classifier) -> None:
    model_dir, spec, records = classifier
    targets = _targets(records, spec)
    whole = replay_scores(model_dir, records, targets)
    stages: list[tuple[str, int, int]] = []
    segmented = replay_scores(
        model_dir, records, targets, state_budget_mb=0, progress=lambda *a: stages.append(a)
    )
    assert torch.equal(whole.scores, segmented.scores)
    assert stages[-1] == ("metagradient", whole.steps, whole.steps)
    assert ("replay", whole.steps, whole.steps) in stages


def test_removing_records_moves_the_measurement_as_the_scores_predict(classifier) -> None:
    """Single-model LDS on the fixed-seed counterfactual: twenty random 8 % removals, each retrained (a
    tiny, fast-moving model: the bench measures the real one)."""
    from scipy.stats import spearmanr

    model_dir, spec, records = classifier
    targets = _targets(records, spec)
    result = replay_scores(model_dir, records, targets)
    n, rng = result.scores.shape[0], np.random.default_rng(0)
    predicted, actual = [], []
    for _ in range(20):
        weights = torch.ones(n)
        weights[rng.choice(n, size=max(1, n // 10), replace=False)] = 0.0
        predicted.append(float(((weights - 1) * result.scores).sum()))
        actual.append(retrain_with_weights(spec, records, targets, weights) - result.measurement)
    lds = spearmanr(predicted, actual).statistic
    print(lds)
    assert lds >= 0.8


def test_the_replay_benchs_retrains_are_cached_under_what_decides_them(
    classifier, tmp_path, monkeypatch
) -> None:
    from dataclasses import replace

    import bench.attribution_replay as bench

    model_dir, spec, records = classifier
    targets = _targets(records, spec)
    train_records = [r for r in records if r not in targets]
    spec = replace(spec, validation_fraction=0.0)
    calls: list[int] = []
    real = bench.retrain_with_weights

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(bench, "retrain_with_weights", counted)
    n, path = len(train_records), tmp_path / "retrains.json"
    masks = {0.1: np.ones((2, n), dtype=np.float32)}
    masks[0.1][0, :3] = masks[0.1][1, 3:6] = 0.0
    first = bench.ground_truth(spec, train_records, targets, masks, path)
    assert len(calls) == 3 and len(first["changes"]["0.1"]) == 2  # the unweighted run, then each subset
    assert first["changes"]["0.1"][0] == real(spec, train_records, targets, masks[0.1][0]) - first["base"]
    assert bench.ground_truth(spec, train_records, targets, masks, path) == first and len(calls) == 3
    masks[0.1][1, 6] = 0.0  # other subsets: retrained
    assert bench.ground_truth(spec, train_records, targets, masks, path)["key"] != first["key"]
    assert len(calls) == 6


def test_a_language_model_and_sgd_replay_exactly(tiny_llama, tmp_path) -> None:
    records = generation_records(16)
    spec = TrainingSpec(
        base_model=str(tiny_llama),
        task="generation",
        optimizer="sgd",
        epochs=2,
        batch_size=4,
        lr=5e-2,
        max_length=24,
        validation_fraction=0.25,
    )
    train(spec, records, tmp_path / "lm")
    targets = _targets(records, spec)
    result = replay_scores(tmp_path / "lm", records, targets)
    assert result.max_abs_diff == 0.0
    n, i, eps = result.scores.shape[0], int(result.scores.abs().argmax()), 1e-2
    up, down = torch.ones(n), torch.ones(n)
    up[i], down[i] = 1 + eps, 1 - eps
    numeric = (
        retrain_with_weights(spec, records, targets, up) - retrain_with_weights(spec, records, targets, down)
    ) / (2 * eps)
    assert float(result.scores[i]) == pytest.approx(numeric, rel=0.05)


def test_a_replay_of_other_records_or_a_changed_adapter_is_refused(classifier, tmp_path) -> None:
    model_dir, spec, records = classifier
    targets = _targets(records, spec)
    edited = [dict(r) for r in records]
    edited[0]["text"] = edited[0]["text"] + " extra"
    with pytest.raises(AttributionError, match="did not reproduce the adapter"):
        replay_scores(model_dir, edited, targets)
    from safetensors.torch import load_file, save_file

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    weights = load_file(str(copy / "adapter_model.safetensors"))
    name = sorted(weights)[0]
    weights[name] = weights[name] + 1e-3
    save_file(weights, str(copy / "adapter_model.safetensors"))
    with pytest.raises(AttributionError, match="did not reproduce the adapter"):
        replay_scores(copy, records, targets)
    with pytest.raises(AttributionError, match="at least one"):
        replay_scores(model_dir, records, [])


def test_attribute_takes_the_model_level_from_the_replay_by_default(classifier, tmp_path) -> None:
    from worker.attribution import AttributionArguments, ModelLevelArguments, attribute

    model_dir, spec, records = classifier
    targets = _targets(records, spec)
    report = attribute(model_dir, records, targets[:2], index_dir=tmp_path / "a")
    assert report.model_level is not None and report.model_level["method"] == "replay"
    assert report.arguments["model_level"] == {"method": "replay"}
    expected = replay_scores(model_dir, records, targets).scores
    assert report.model_level["scores"] == pytest.approx(expected.tolist(), abs=1e-6)
    gradients = AttributionArguments(model_level=ModelLevelArguments(method="gradients"))
    old = attribute(model_dir, records, targets[:2], args=gradients, index_dir=tmp_path / "b")
    assert old.model_level is not None and old.model_level["method"] == "gradients"
    # arguments recorded before the replay existed name no method: they were the gradients
    assert AttributionArguments.from_dict({}).model_level.method == "gradients"
    with pytest.raises(AttributionError, match="model-level method"):
        AttributionArguments(model_level=ModelLevelArguments(method="magic"))


def test_a_derived_model_replays_from_its_parent_only(classifier, tmp_path) -> None:
    model_dir, spec, records = classifier
    child_spec = spec.replace(start_from="bafy-parent-adapter", epochs=1)
    train(child_spec, records, tmp_path / "child", parent_dir=model_dir)
    targets = _targets(records, spec)
    with pytest.raises(AttributionError, match="needs that bundle"):
        replay_scores(tmp_path / "child", records, targets)
    result = replay_scores(tmp_path / "child", records, targets, parent_dir=model_dir)
    assert result.max_abs_diff == 0.0 and torch.isfinite(result.scores).all()


@pytest.mark.parametrize(
    "optimizer, adam_epsilon", [("adamw", 1e-8), ("adamw", 1e-5), ("adamw", 0.1), ("sgd", 0.1)]
)
def test_the_differentiable_update_is_the_optimizer_step_the_spec_trains_with(
    optimizer, adam_epsilon
) -> None:
    """The replay pulls adjoints through `_update`, so it must be the step `make_optimizer` takes, for
    the spec's own epsilon (a large one differs from torch's default in the first digit)."""
    spec = TrainingSpec(
        base_model="minilm", optimizer=optimizer, adam_epsilon=adam_epsilon, lr=0.05, weight_decay=0.01
    )
    model = torch.nn.Linear(3, 2)
    generator = torch.Generator().manual_seed(0)
    real = make_optimizer(spec, model)
    params = [p.detach().clone() for p in model.parameters()]
    state = (params, [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params])
    if optimizer == "sgd":
        state = (params, state[1], [p.new_zeros(0) for p in params])
    for step in range(1, 4):
        grads = [torch.randn(p.shape, generator=generator) * 1e-3 for p in params]
        for p, g in zip(model.parameters(), grads, strict=True):
            p.grad = g.clone()
        real.step()
        new = _update(spec, step, state, grads)
        n = len(params)
        state = (new[:n], new[n : 2 * n], new[2 * n :])
        for mine, theirs in zip(state[0], model.parameters(), strict=True):
            torch.testing.assert_close(mine, theirs.detach(), rtol=1e-6, atol=1e-7)
