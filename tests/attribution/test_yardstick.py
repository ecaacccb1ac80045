"""The benchmark's yardstick on small synthetic ground truths: label-stratified subsets, the LDS with label
balance partialled out, the split-half ceiling and the label-only baseline (bench/attribution_metrics.py,
bench/attribution_truth.py)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.attribution_metrics import (
    Yardstick,
    label_only_scores,
    label_shares,
    lds,
    lds_partialled,
    residuals,
    roc_auc,
    split_half_ceiling,
)
from bench.attribution_truth import PROTOCOLS, subset_masks, truth_dir

N, M, Q = 60, 40, 6


def _labels(n: int = N) -> list[str]:
    return ["pos" if i % 3 else "neg" for i in range(n)]  # 2:1, so a random half is rarely balanced


def _world(masks: np.ndarray, balance: float, seed: int = 0):
    """Retrained margins = balance x (share of the query's label) + the records' true additive effects +
    noise; returns (effects (q, n), margins (2 replicates, m, q), train labels, query labels)."""
    rng = np.random.default_rng(seed)
    train_labels = _labels()
    query_labels = ["pos", "neg"] * (Q // 2)
    effects = rng.normal(size=(Q, N))
    shares = label_shares(masks, train_labels)  # columns: neg, pos
    own = np.stack([shares[:, 1] if q == "pos" else shares[:, 0] for q in query_labels], axis=1)
    clean = balance * own + masks.astype(float) @ effects.T
    margins = np.stack([clean + rng.normal(scale=0.5, size=clean.shape) for _ in range(2)])
    return effects, margins, train_labels, query_labels


def test_label_only_baseline_wins_plain_lds_on_random_subsets_and_scores_zero_partialled():
    masks = subset_masks(N, M)  # plain random halves
    effects, margins, train_labels, query_labels = _world(masks, balance=200.0)
    baseline = label_only_scores(train_labels, query_labels)
    assert baseline.shape == (Q, N) and set(np.unique(baseline)) == {-1.0, 1.0}
    truth = margins.mean(0)
    shares = label_shares(masks, train_labels)

    assert lds(baseline, masks, truth) > 0.9  # label balance dominates the plain LDS ...
    assert lds_partialled(baseline, masks, truth, shares) == 0.0  # ... and is all the baseline knows
    # The true effects are what is left once label balance is partialled out.
    assert lds(effects, masks, truth) < lds(baseline, masks, truth)
    assert lds_partialled(effects, masks, truth, shares) > 0.8
    # The ceiling with label balance left in is high for any retrain; partialled, it measures the data.
    assert split_half_ceiling(margins) > split_half_ceiling(margins, shares) > 0.8

    yard = Yardstick(masks, margins, "random-half-v1", train_labels, query_labels)
    refs = yard.references()
    assert refs["label_only"] == {"lds": lds(baseline, masks, truth), "lds_partialled": 0.0}
    assert refs["split_half_ceiling"] == {
        "lds": split_half_ceiling(margins),
        "lds_partialled": split_half_ceiling(margins, shares),
    }
    assert yard.queries(slice(0, 2)).score(effects[:2])["lds"] == lds(effects[:2], masks, truth[:, :2])


def test_stratified_subsets_keep_the_label_proportions():
    labels = _labels(61)
    masks = subset_masks(61, M, labels)
    counts = {c: sum(label == c for label in labels) for c in ("neg", "pos")}
    for row in masks:
        chosen = [labels[i] for i in np.flatnonzero(row)]
        assert {c: chosen.count(c) for c in counts} == {c: n // 2 for c, n in counts.items()}
    assert len({row.tobytes() for row in masks}) == M  # still M different subsets
    np.testing.assert_array_equal(subset_masks(61, M + 5, labels)[:M], masks)  # stable as M grows
    # Without labels (generation) it is the plain random half.
    np.testing.assert_array_equal(subset_masks(61, M, None), subset_masks(61, M))
    assert (subset_masks(61, M).sum(1) == 30).all()


def test_on_stratified_subsets_the_label_only_baseline_carries_no_signal():
    labels = _labels()
    masks = subset_masks(N, M, labels)
    effects, margins, train_labels, query_labels = _world(masks, balance=200.0)
    yard = Yardstick(masks, margins, "stratified-half-v1", train_labels, query_labels)
    refs = yard.references()
    assert refs["label_only"] == {"lds": 0.0, "lds_partialled": 0.0}
    scored = yard.score(effects)
    assert scored["lds"] == pytest.approx(scored["lds_partialled"]) and scored["lds"] > 0.8


def test_residuals_remove_what_the_covariates_explain():
    rng = np.random.default_rng(1)
    covariates = rng.normal(size=(30, 2))
    signal = rng.normal(size=30)
    values = np.column_stack([3 + covariates @ [2.0, -1.0], 3 + covariates @ [2.0, -1.0] + signal])
    res = residuals(values, covariates)
    assert (res[:, 0] == 0).all()  # explained exactly: zero, not rounding noise
    assert abs(res[:, 1] @ covariates[:, 0]) < 1e-9 and abs(res[:, 1].sum()) < 1e-9
    assert (residuals(np.ones((30, 1)), covariates) == 0).all()
    # Rank-deficient covariates (shares summing to one, beside the intercept) are fine.
    shares = np.column_stack([covariates[:, 0] ** 2, 1 - covariates[:, 0] ** 2])
    assert np.isfinite(residuals(values, shares)).all()


def test_generation_yardstick_has_no_label_parts():
    masks = subset_masks(N, M)
    effects, margins, _, _ = _world(masks, balance=0.0)
    yard = Yardstick(masks, margins, "random-half-v1")
    scored = yard.score(effects)
    assert scored["lds"] == scored["lds_partialled"]
    refs = yard.references()
    assert refs["label_only"] is None and refs["split_half_ceiling"]["lds"] == split_half_ceiling(margins)


def test_the_ground_truth_cache_is_keyed_by_the_subset_protocol():
    train, queries = [{"text": "a", "label": "x"}], [{"text": "b", "label": "x"}]
    folders = {truth_dir(train, queries, protocol) for protocol in PROTOCOLS}
    assert len(folders) == len(PROTOCOLS)
    assert all(PROTOCOLS[p] in truth_dir(train, queries, p).name for p in PROTOCOLS)


def test_each_task_and_size_has_its_own_ground_truth_cache():
    from bench.attribution_data import TASKS, TWEETS

    train, queries = [{"text": "a", "label": "x"}], [{"text": "b", "label": "x"}]
    tasks = [*TASKS.values(), TWEETS.sized(320, 48), TWEETS.sized(160, 48)]
    assert len({truth_dir(train, queries, "stratified", task) for task in tasks}) == len(tasks)
    assert len({task.source for task in TASKS.values()}) == len(TASKS)  # different packaged sources
    assert {task.kind for task in TASKS.values()} == {"classification", "generation"}


def test_a_task_split_is_disjoint_fixed_and_keeps_the_labels_balanced():
    from bench.attribution_data import TWEETS

    task = TWEETS.sized(200, 40)
    train, queries = task.split("eval")
    again, _ = task.split("eval")
    dev, _ = task.split("dev")
    assert (len(train), len(queries)) == (200, 40) and train == again
    texts = {r["text"] for r in train}
    assert not texts & {q["text"] for q in queries} and not texts & {r["text"] for r in dev}
    assert {r["contributor"] for r in train} == {f"contributor-{i:02d}" for i in range(20)}
    labels = [r["label"] for r in train]
    assert 0.4 < labels.count("positive") / len(labels) < 0.6


def _grid_results(lds: dict[str, dict[str, float]]) -> dict[str, dict]:
    """Per-task results with only the grid filled in: {task: {config name: label-partialled LDS}}."""
    return {
        t: {"grid": {n: {"lds": v, "lds_partialled": v} for n, v in row.items()}} for t, row in lds.items()
    }


def test_leave_one_task_out_never_picks_a_task_s_knobs_on_that_task():
    from bench.attribution_tasks import GRID, leave_one_task_out

    names = [c.name for c in GRID]
    a, b = names[0], names[1]
    base = {n: 0.1 for n in names}
    # `a` is best on t1 alone, `b` on t2 and t3: t1 must be reported with `b`, chosen on t2 and t3
    results = _grid_results(
        {
            "t1": {**base, a: 0.9, b: 0.2},
            "t2": {**base, a: 0.1, b: 0.6},
            "t3": {**base, a: 0.1, b: 0.5},
        }
    )
    loto = leave_one_task_out(results)
    assert loto["t1"] == {"chosen_on_others": b, "lds": 0.2}
    # on t1 and t3, `a` has the best mean (0.5 against 0.35): t2 is reported with it, at its poor 0.1
    assert loto["t2"] == {"chosen_on_others": a, "lds": 0.1}
    assert loto["recommended_default"] == b  # mean over all: b 0.433 > a 0.367
    assert loto["current_default"] in names
    assert leave_one_task_out({"t1": results["t1"]})["t1"] == {"chosen_on_others": None, "lds": None}


def test_flipped_labels_are_a_seeded_share_each_moved_to_another_label():
    from bench.attribution_mislabel import flip_labels

    records = [{"text": f"r{i}", "label": ("a", "b", "c")[i % 3]} for i in range(50)]
    noisy, mask = flip_labels(records, ("a", "b", "c"), 0.2, seed=7)
    assert mask.sum() == 10 and len(noisy) == 50
    assert all((n["label"] != r["label"]) == m for n, r, m in zip(noisy, records, mask, strict=True))
    assert all(n["text"] == r["text"] for n, r in zip(noisy, records, strict=True))
    assert records[0]["label"] == "a"  # the clean records are left as they were
    again, same = flip_labels(records, ("a", "b", "c"), 0.2, seed=7)
    assert again == noisy and (same == mask).all()
    _, other = flip_labels(records, ("a", "b", "c"), 0.2, seed=8)
    assert (other != mask).any()
    # 10 % flips half as many rows
    assert flip_labels(records, ("a", "b", "c"), 0.1, seed=7)[1].sum() == 5


def test_mislabel_draws_table_gives_means_over_draws_and_counts_wins_over_the_loss():
    from bench.attribution_mislabel import draws_markdown

    def draw(ours: float, representation: float, loss: float) -> dict[str, float]:
        return {"ours_mislabel_loo": ours, "representation_loo": representation, "training_loss_final": loss}

    results = {
        "t": {
            "0.1": {"draws": {"7": draw(0.8, 0.7, 0.75), "11": draw(0.6, 0.9, 0.65)}},
            "0.2": {"train": 10},  # a result saved before draws were measured: no row
        }
    }
    rows = draws_markdown(results).splitlines()
    assert len(rows) == 3
    assert rows[2] == "| t | 10% | 2 | 0.700 | 0.800 | 0.700 | 1 of 2 |"


def test_mislabel_seed_study_averages_standardised_models_and_tabulates_one_against_the_mean():
    from bench.attribution_mislabel import DRAWN, ensemble_auc, seeds_markdown

    rng = np.random.default_rng(0)
    flipped = np.arange(200) < 40
    # two models whose scores see the flips through independent noise, on scales 100x apart
    models = [flipped + rng.normal(0, 0.8, 200), 100 * (flipped + rng.normal(0, 0.8, 200))]
    single = [roc_auc(m, flipped) for m in models]
    assert ensemble_auc(models, flipped) > max(single)  # the noise averages out
    assert ensemble_auc([models[0], -models[1]], flipped) < min(single)  # not a max over models
    assert ensemble_auc(models[:1], flipped) == single[0]

    found = {"models": [0.8, 0.9], "mean_of_models": 0.95}
    rows = seeds_markdown({"t": {"0.1": {k: found for k in DRAWN}}}).splitlines()
    assert len(rows) == 3
    assert rows[2] == "| t | 10% | 2 | " + " | ".join(["0.850 (0.800-0.900) / 0.950"] * len(DRAWN)) + " |"
