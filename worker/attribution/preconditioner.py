"""Curvature-aware preconditioning of projected gradients, TRAK-style: (Phi^T Phi / n + lambda I)^-1.

Phi holds the projected training-loss gradients (an empirical-Fisher / Gauss-Newton stand-in for the
Hessian restricted to the projected subspace). Damping follows one scale-free rule: lambda is
`damping_ratio` times the mean eigenvalue of Phi^T Phi / n, so it adapts to gradient scale, projection
size and checkpoint without tuning per model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from worker.attribution.arguments import PreconditionerArguments


@dataclass
class Preconditioner:
    inverse: torch.Tensor  # (k, k), symmetric
    damping: float

    @classmethod
    def fit(cls, features: torch.Tensor, args: PreconditionerArguments) -> Preconditioner:
        phi = features.double()
        second_moment = phi.T @ phi / max(1, phi.shape[0])
        eigenvalues, eigenvectors = torch.linalg.eigh(second_moment)
        mean_eigenvalue = float(eigenvalues.clamp(min=0).mean())
        damping = args.damping_ratio * mean_eigenvalue if mean_eigenvalue > 0 else args.damping_ratio
        inverse = (eigenvectors / (eigenvalues.clamp(min=0) + damping)) @ eigenvectors.T
        return cls(inverse=inverse.float(), damping=damping)

    def apply(self, features: torch.Tensor) -> torch.Tensor:
        return features @ self.inverse
