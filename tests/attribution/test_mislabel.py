"""Mislabel scores: exact margin gradients, the closed-form leave-one-out, and flipped labels found."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
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


FLIPPED = (3, 10, 21, 36)


@pytest.fixture(scope="module")
def flipped_model(tiny_bert, tmp_path_factory):
    """A tiny classifier trained on 48 records of which FLIPPED carry the other label."""
    from worker.train import TrainingSpec, train

    records = sentiment_records(48, seed=3)
    for i in FLIPPED:
        records[i] = dict(records[i], label={"pos": "neg", "neg": "pos"}[records[i]["label"]])
    spec = TrainingSpec(
        base_model=str(tiny_bert), epochs=5, batch_size=8, lr=1e-2, max_length=16, validation_fraction=0.0
    )
    out = tmp_path_factory.mktemp("flipped") / "model"
    train(spec, records, out)
    return out, records


def test_flipped_labels_rank_first_and_travel_with_the_index(flipped_model):
    model_dir, records = flipped_model
    analyzer = Analyzer(model_dir, AttributionArguments(features=FeatureArguments(projection_dim=64)))
    train_records, _ = analyzer.split(records)
    index = analyzer.index(train_records)
    scores = index.mislabel
    assert scores is not None and scores.shape == (len(records),)
    rank = torch.argsort(scores, descending=True).tolist()
    assert set(rank[:4]) == set(FLIPPED), rank[:8]
    assert torch.equal(AttributionIndex.load(model_dir).mislabel, scores)


def test_bench_representation_signal_ranks_flipped_labels_high(flipped_model):
    """The bench's alternative signal (leave-one-out ridge on pooled hidden states) on the same model."""
    from bench.attribution_mislabel import representation_loo

    model_dir, records = flipped_model
    scores = representation_loo(load_trained(model_dir), records)
    assert scores.shape == (len(records),)
    rank = np.argsort(-scores, kind="stable").tolist()
    assert set(rank[:4]) == set(FLIPPED), rank[:8]


def test_bench_clean_reference_refuses_a_source_without_disjoint_records():
    from bench.attribution_data import TWEETS
    from bench.attribution_mislabel import clean_reference_margins
    from worker.errors import DataError

    few = replace(TWEETS, records=lambda: sentiment_records(600), n_train=40, n_query=8)
    with pytest.raises(DataError, match="too few for a disjoint clean reference"):
        clean_reference_margins([], few)
