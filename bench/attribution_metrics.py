"""Quality metrics: linear datamodeling score (LDS), plain and with label balance partialled out, its
split-half ceiling, the model-free label-only baseline, and ROC-AUC.

Why the partialled LDS: with random subsets the share of each label in a subset moves every query's
retrained margin, so a score that knows only labels (+1 for a record of the query's label, -1 otherwise)
earns a high plain LDS without attributing anything. Regressing both the predicted sums and the retrained
margins on the subsets' label shares (with an intercept) and correlating the residuals measures what a
method predicts beyond label balance; the label-only baseline scores exactly 0 on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


def label_shares(masks: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """(m, K): each subset's share of each label (labels in sorted order)."""
    classes = sorted(set(labels))
    onehot = np.array([[label == c for c in classes] for label in labels], dtype=np.float64)
    counts = masks.astype(np.float64) @ onehot
    return counts / np.maximum(masks.sum(1, keepdims=True), 1)


def residuals(values: np.ndarray, covariates: np.ndarray) -> np.ndarray:
    """values (m, q) minus, column by column, their least-squares fit on an intercept and the covariates
    (m, c). A column the covariates explain entirely (up to rounding) becomes exactly zero, so that
    rounding noise is never ranked."""
    values = values.astype(np.float64)
    design = np.column_stack([np.ones(len(values)), covariates.astype(np.float64)])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)  # rank-deficient designs are fine
    res = values - design @ coef
    spread = np.sqrt(((values - values.mean(0)) ** 2).sum(0))
    explained = np.sqrt((res**2).sum(0)) <= 1e-9 * spread
    res[:, explained | (spread == 0)] = 0.0
    return res


def lds_partialled(scores: np.ndarray, masks: np.ndarray, truth: np.ndarray, covariates: np.ndarray) -> float:
    """LDS with the covariates (the subsets' label shares) partialled out of both sides: per query, the
    Spearman correlation across subsets of the residuals of the predicted sums and of the retrained
    margins after regressing each on the covariates."""
    predicted = residuals(masks.astype(np.float64) @ scores.T, covariates)
    target = residuals(truth, covariates)
    return float(np.mean([spearman(predicted[:, i], target[:, i]) for i in range(truth.shape[1])]))


def split_half_ceiling(margins: np.ndarray, covariates: np.ndarray | None = None) -> float | None:
    """Spearman between two independent retrain replicates: the noise ceiling of any attribution (with
    `covariates`, of the partialled LDS: both replicates' residuals)."""
    if margins.shape[0] < 2:
        return None
    a, b = margins[0], margins[1]
    if covariates is not None:
        a, b = residuals(a, covariates), residuals(b, covariates)
    return float(np.mean([spearman(a[:, i], b[:, i]) for i in range(margins.shape[2])]))


def label_only_scores(train_labels: Sequence[str], query_labels: Sequence[str]) -> np.ndarray:
    """(q, n) the model-free baseline: +1 where a training record has the query's label, -1 otherwise."""
    train = np.asarray(train_labels, dtype=object)
    return np.array([np.where(train == label, 1.0, -1.0) for label in query_labels])


@dataclass(frozen=True)
class Yardstick:
    """A ground truth and how to score a method against it: retrained margins on subsets, and (for
    classification) the labels that define the label-balance covariates and the label-only baseline."""

    masks: np.ndarray  # (m, n) subset membership
    margins: np.ndarray  # (replicates, m, q) retrained query margins
    protocol: str  # how the subsets were drawn (e.g. "stratified-half-v1")
    train_labels: Sequence[str] | None = None  # None for generation tasks
    query_labels: Sequence[str] | None = None

    @property
    def truth(self) -> np.ndarray:
        """(m, q): the mean over retrain replicates, the target of the LDS."""
        mean: np.ndarray = self.margins.mean(0)
        return mean

    @property
    def shares(self) -> np.ndarray | None:
        return None if self.train_labels is None else label_shares(self.masks, self.train_labels)

    def score(self, scores: np.ndarray) -> dict[str, float | None]:
        """Plain LDS and LDS with label balance partialled out (the same as plain without labels)."""
        plain = lds(scores, self.masks, self.truth)
        shares = self.shares
        partialled = plain if shares is None else lds_partialled(scores, self.masks, self.truth, shares)
        return {"lds": plain, "lds_partialled": partialled}

    def queries(self, part: slice) -> Yardstick:
        """The same ground truth restricted to some queries (e.g. one half, for a knob's check)."""
        labels = None if self.query_labels is None else list(self.query_labels)[part]
        return Yardstick(self.masks, self.margins[:, :, part], self.protocol, self.train_labels, labels)

    def references(self) -> dict[str, object]:
        """What every table prints beside the methods: the split-half ceiling (plain and partialled) and
        the label-only baseline (classification only)."""
        shares = self.shares
        out: dict[str, object] = {
            "protocol": self.protocol,
            "subsets": int(self.masks.shape[0]),
            "replicates": int(self.margins.shape[0]),
            "split_half_ceiling": {
                "lds": split_half_ceiling(self.margins),
                "lds_partialled": split_half_ceiling(self.margins, shares),
            },
            "label_only": None,
        }
        if self.train_labels is not None and self.query_labels is not None:
            out["label_only"] = self.score(label_only_scores(self.train_labels, self.query_labels))
        return out


def roc_auc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    ranks = _ranks(scores) + 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
