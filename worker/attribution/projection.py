"""Seeded random projection of per-example gradients (Johnson-Lindenstrauss), one block per tensor.

Each parameter tensor gets its own (numel x k) block drawn from a generator seeded by (seed, tensor
name), so the same seed gives the same features on any machine whatever the other tensors are. The
blocks are stacked once into one (total x k) matrix: projecting is then a single matmul.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

import torch


def _block_seed(seed: int, name: str) -> int:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


class RandomProjector:
    def __init__(
        self, shapes: Mapping[str, torch.Size], dim: int, kind: str, seed: int, device: torch.device
    ):
        self.names: Sequence[str] = list(shapes)
        self.numels = {n: math.prod(s) for n, s in shapes.items()}
        self.total = sum(self.numels.values())
        self.dim = dim if 0 < dim else self.total  # 0: keep the full gradient
        self.identity = dim == 0
        self.kind, self.seed, self.device = kind, seed, device
        self._matrix: torch.Tensor | None = None

    def _block(self, name: str) -> torch.Tensor:
        gen = torch.Generator().manual_seed(_block_seed(self.seed, name))
        shape = (self.numels[name], self.dim)
        if self.kind == "gaussian":
            return torch.randn(shape, generator=gen)
        return torch.randint(0, 2, shape, generator=gen, dtype=torch.int8).float().mul_(2).sub_(1)

    @property
    def matrix(self) -> torch.Tensor:
        """(total, dim): the per-tensor blocks stacked in `names` order, built once, so that projecting is
        a single matmul (one pass over the matrix however many gradients are projected together)."""
        if self._matrix is None:
            blocks = torch.cat([self._block(n) for n in self.names]).div_(math.sqrt(self.dim))
            self._matrix = blocks.to(self.device)
        return self._matrix

    def flatten(self, grads: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(B, *shape) per tensor -> (B, total), in the fixed order of `names`."""
        batch = next(iter(grads.values())).shape[0]
        return torch.cat([grads[n].reshape(batch, -1) for n in self.names], dim=1)

    def project_flat(self, flat: torch.Tensor) -> torch.Tensor:
        """(B, total) flattened gradients -> (B, dim) features."""
        return flat if self.identity else flat @ self.matrix

    def project(self, grads: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(B, *shape) per tensor -> (B, dim) features, in the fixed order of `names`."""
        return self.project_flat(self.flatten(grads))
