"""Which training records look mislabelled, from the index alone (classification).

The signal is a leave-one-out prediction of each record's label by the rest of the training set, through
the final model's linearisation. Cross-entropy is softplus(-margin) for any number of classes (margin =
the label's logit minus the logsumexp of the others), so a record's margin gradient is its loss gradient
divided by -(1 - p_label) = -(1 - exp(-loss)): exact, and already in the index (sketched). Ridge
regression of the target "margin up" (1) on these margin gradients u_i, with its closed-form
leave-one-out prediction (yhat_i - h_ii) / (1 - h_ii), says how strongly the *other* records, fitted
together, push record i's margin up; a record whose correctly labelled look-alikes push it down is likely
mislabelled. The score is minus that prediction: higher = more suspicious.

Why this and not self-influence or the loss: chosen on a development split (bench/attribution.py,
"dev": other records and another flip draw than the reported ones), where it ranked flipped labels best;
the ridge is large (RIDGE_RATIO x the mean squared norm of u), so the fit leans on what many records
agree on rather than interpolating each one. Cost O(n k^2 + k^3): fine at 100k records.
"""

from __future__ import annotations

import torch

from worker.attribution.index import AttributionIndex

RIDGE_RATIO = 10.0


def margin_gradients(features: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
    """(n, k) sketched loss gradients and (n,) cross-entropy losses -> (n, k) sketched margin gradients."""
    wrong = (-torch.expm1(-losses.double())).clamp(min=1e-12)  # 1 - p_label, without cancellation
    return -features.double() / wrong[:, None]


def ridge_for(u: torch.Tensor) -> float:
    """The ridge: RIDGE_RATIO x the mean squared norm of the rows, so the fit does not depend on the
    features' scale (unlike the preconditioner's damping, which scales with the mean eigenvalue)."""
    return RIDGE_RATIO * float((u * u).sum()) / max(1, u.shape[0])


def leave_one_out_margin(u: torch.Tensor, ridge: float) -> torch.Tensor:
    """(n,) row i's ridge prediction of the target 1 by a fit on the other rows (closed form: no refits)."""
    k = u.shape[1]
    gram = u.T @ u + ridge * torch.eye(k, dtype=u.dtype, device=u.device)
    solved = torch.linalg.solve(gram, u.T).T  # (n, k): row i is (U^T U + ridge I)^-1 u_i
    fitted = solved @ u.sum(0)
    leverage = (solved * u).sum(1)
    margin: torch.Tensor = (fitted - leverage) / (1 - leverage)
    return margin


def mislabel_scores(index: AttributionIndex) -> torch.Tensor:
    """(n,) per training record, higher = more likely mislabelled; uses the final member (checkpoint)."""
    final = index.members[-1]
    u = margin_gradients(final.features, final.losses)
    return -leave_one_out_margin(u, ridge_for(u)).float()
