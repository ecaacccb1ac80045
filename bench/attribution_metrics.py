"""Quality metrics: linear datamodeling score (LDS), its split-half ceiling, and ROC-AUC."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank)."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    for value in np.unique(x):
        tied = x == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def load_truth(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """masks (m, n) and margins (replicates, m, q) of the subsets finished so far (all replicates)."""
    masks = np.load(folder / "masks.npy")
    reps = []
    for rep in range(8):
        files = [folder / f"margins-s{j:03d}-r{rep}.npy" for j in range(len(masks))]
        done = [f.exists() for f in files]
        if not any(done):
            break
        reps.append([np.load(f) if ok else None for f, ok in zip(files, done, strict=True)])
    usable = [j for j in range(len(masks)) if all(r[j] is not None for r in reps)]
    margins = np.array([[r[j] for j in usable] for r in reps])
    return masks[usable], margins


def lds(scores: np.ndarray, masks: np.ndarray, truth: np.ndarray) -> float:
    """scores (q, n); masks (m, n); truth (m, q). Mean over queries of Spearman across subsets."""
    predicted = masks.astype(np.float64) @ scores.T  # (m, q): additive prediction per subset
    return float(np.mean([spearman(predicted[:, i], truth[:, i]) for i in range(truth.shape[1])]))


def split_half_ceiling(margins: np.ndarray) -> float | None:
    """Spearman between two independent retrain replicates: the noise ceiling of any attribution."""
    if margins.shape[0] < 2:
        return None
    return float(np.mean([spearman(margins[0][:, i], margins[1][:, i]) for i in range(margins.shape[2])]))


def roc_auc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    ranks = _ranks(scores) + 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
