"""Mislabel detection: flip 20% of the training labels, train once, rank the records; ROC-AUC per signal.

Run on two splits: "dev" (other records, another flip draw) is where the signal of
worker/attribution/mislabel.py and its ridge were chosen; "eval" is what the README reports. A 4-fold
cross-fitted loss (4 extra trainings, each record scored by a model that never saw it) is reported as a
reference for what this model family can tell apart at all: the corpus' own labels are noisy (many
tweets are neutral but labelled positive or negative), and a flipped label on such a tweet cannot be
detected by any method.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from bench.attribution_data import CACHE, bench_spec, bench_split, build, data_key, trained_model
from bench.attribution_metrics import roc_auc
from bench.attribution_truth import query_margins
from worker.attribution import Analyzer, AttributionArguments, ScoreArguments
from worker.attribution.mislabel import mislabel_scores
from worker.train import train_in_memory

FLIP_FRACTION = 0.2
FLIP_SEEDS = {"eval": 7, "dev": 8}
FOLDS = 4
ALL_CHECKPOINT_QUERIES = AttributionArguments(score=ScoreArguments(query_checkpoints="all"))


def flipped(split: str) -> tuple[list[dict], list[dict], np.ndarray]:
    """The split's training records with 20% of labels flipped (seeded), its clean queries, the flip mask."""
    train, held_out = bench_split(split)
    rows = set(random.Random(FLIP_SEEDS[split]).sample(range(len(train)), int(FLIP_FRACTION * len(train))))
    swap = {"negative": "positive", "positive": "negative"}
    noisy = [dict(r, label=swap[r["label"]]) if i in rows else r for i, r in enumerate(train)]
    return noisy, held_out, np.array([i in rows for i in range(len(noisy))])


def signals(index, held_final: list[torch.Tensor], held_members: list[torch.Tensor]) -> dict[str, np.ndarray]:
    """Every per-record signal (higher = more suspicious). `held_*`: clean held-out measurement features,
    at the final adapter only (what `attribute` uses) and at every checkpoint."""
    feats = [m.features.double() for m in index.members]
    pre = [m.preconditioned.double() for m in index.members]
    self_inf = [(f * p).sum(1) for f, p in zip(feats, pre, strict=True)]
    held = [q.double().mean(0) for q in held_members]
    return {
        "ours_mislabel_loo": mislabel_scores(index).numpy(),
        # minus the influence on the mean margin of clean held-out records (what `attribute` flags)
        "ours_negative_model_level": -index.scores(held_final).mean(0).numpy(),
        "ours_negative_model_level_all_checkpoints": -index.scores(held_members).mean(0).numpy(),
        # g_i^T (F + lambda)^-1 g_i averaged over the checkpoints (TracIn-CP style, preconditioned)
        "ours_self_influence": torch.stack(self_inf).mean(0).numpy(),
        # RelatIF (Barshan et al. 2020): self-influence over the norm of the preconditioned gradient
        "ours_relatif": torch.stack([s / p.norm(dim=1) for s, p in zip(self_inf, pre, strict=True)])
        .mean(0)
        .numpy(),
        "tracin_cp_self_influence": torch.stack([(f**2).sum(1) for f in feats]).sum(0).numpy(),
        "tracin_cp_negative_model_level": torch.stack([f @ h for f, h in zip(feats, held, strict=True)])
        .sum(0)
        .numpy(),
        "training_loss_mean_over_checkpoints": index.mean_loss().numpy(),
        "training_loss_final": index.members[-1].losses.numpy(),
    }


def crossfit_margins(noisy: list[dict]) -> np.ndarray:
    """Each record's margin under a model trained on the other folds (cached: 4 trainings)."""
    path = CACHE / f"crossfit-{data_key(noisy, [])}.npy"
    if path.exists():
        return np.load(path)
    order = np.random.default_rng(0).permutation(len(noisy))
    margins = np.zeros(len(noisy))
    for fold in range(FOLDS):
        out = np.sort(order[fold::FOLDS])
        keep = [noisy[i] for i in np.setdiff1d(np.arange(len(noisy)), out)]
        loaded, _, _ = train_in_memory(bench_spec(seed=500 + fold), keep)
        margins[out] = query_margins(loaded, [noisy[i] for i in out]).numpy()
    np.save(path, margins)
    return margins


def detection(split: str, crossfit: bool = True) -> dict[str, float]:
    noisy, held_out, is_flipped = flipped(split)
    model_dir = trained_model(f"model-{data_key(noisy, [])}-flipped", noisy)
    analyzer, index, _ = build(model_dir, noisy, AttributionArguments())
    held_final, _, _ = analyzer.query_features(held_out)
    every = Analyzer(model_dir, ALL_CHECKPOINT_QUERIES, loaded=analyzer.loaded)
    held_members, _, _ = every.query_features(held_out)
    out = {k: roc_auc(v, is_flipped) for k, v in signals(index, held_final, held_members).items()}
    if crossfit:
        out["reference_crossfit_loss_4_trainings"] = roc_auc(-crossfit_margins(noisy), is_flipped)
    return out
