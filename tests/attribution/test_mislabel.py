"""Mislabel scores: exact margin gradients, the closed-form leave-one-out, and flipped labels found."""

from __future__ import annotations

import pytest
import torch
from tinymodels import sentiment_records

from worker.attribution import Analyzer, AttributionArguments, AttributionIndex, FeatureArguments
from worker.attribution.gradients import GradientFeaturizer
from worker.attribution.mislabel import leave_one_out_margin, margin_gradients
from worker.attribution.tasks import ClassificationTask
from worker.train import load_trained
from worker.train.batches import encode_records


def test_margin_gradients_follow_exactly_from_loss_gradients(trained_bert, records):
    """Cross-entropy = softplus(-margin), so grad margin = -grad loss / (1 - p_label): no extra pass."""
    loaded = load_trained(trained_bert)
    examples = encode_records(
        records[:8], loaded.tokenizer, "classification", loaded.spec.labels, 16
    ).examples
    args = FeatureArguments(projection_dim=0, batch_size=4)
    featurizer = GradientFeaturizer(
        loaded.model.eval(), ClassificationTask(), args, loaded.tokenizer.pad_token_id, torch.device("cpu")
    )
    loss, margin = featurizer.featurize(examples, "loss"), featurizer.featurize(examples, "measurement")
    derived = margin_gradients(loss.features, loss.values)
    torch.testing.assert_close(derived.float(), margin.features, rtol=1e-3, atol=1e-5)


def test_leave_one_out_equals_refitting_without_each_row():
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(12, 5, generator=gen, dtype=torch.float64)
    ridge = 0.7
    got = leave_one_out_margin(u, ridge)
    for i in range(12):
        rest = torch.cat([u[:i], u[i + 1 :]])
        w = torch.linalg.solve(rest.T @ rest + ridge * torch.eye(5, dtype=u.dtype), rest.sum(0))
        assert float(got[i]) == pytest.approx(float(u[i] @ w), rel=1e-9)


def test_flipped_labels_rank_first_and_travel_with_the_index(tiny_bert, tmp_path):
    from worker.train import TrainingSpec, train

    records = sentiment_records(48, seed=3)
    flipped = [3, 10, 21, 36]
    for i in flipped:
        records[i] = dict(records[i], label={"pos": "neg", "neg": "pos"}[records[i]["label"]])
    spec = TrainingSpec(
        base_model=str(tiny_bert), epochs=5, batch_size=8, lr=1e-2, max_length=16, validation_fraction=0.0
    )
    train(spec, records, tmp_path / "model")
    analyzer = Analyzer(
        tmp_path / "model", AttributionArguments(features=FeatureArguments(projection_dim=64))
    )
    train_records, _ = analyzer.split(records)
    index = analyzer.index(train_records)
    scores = index.mislabel
    assert scores is not None and scores.shape == (len(records),)
    rank = torch.argsort(scores, descending=True).tolist()
    assert set(rank[:4]) == set(flipped), rank[:8]
    assert torch.equal(AttributionIndex.load(tmp_path / "model").mislabel, scores)
