"""Seeded random projection of per-example gradients (Johnson-Lindenstrauss), one block per tensor.

The projection matrix is never built whole: each parameter tensor gets its own (numel x k) block drawn
from a generator seeded by (seed, tensor name), so the same seed gives the same features on any machine
and the blocks can be created lazily and cached.
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
        self._blocks: dict[str, torch.Tensor] = {}

    def block(self, name: str) -> torch.Tensor:
        if name not in self._blocks:
            gen = torch.Generator().manual_seed(_block_seed(self.seed, name))
            shape = (self.numels[name], self.dim)
            if self.kind == "gaussian":
                block = torch.randn(shape, generator=gen)
            else:
                block = torch.randint(0, 2, shape, generator=gen, dtype=torch.int8).float().mul_(2).sub_(1)
            self._blocks[name] = block.div_(math.sqrt(self.dim)).to(self.device)
        return self._blocks[name]

    def project(self, grads: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(B, *shape) per tensor -> (B, dim) features, in the fixed order of `names`."""
        batch = next(iter(grads.values())).shape[0]
        flat = [grads[n].reshape(batch, -1) for n in self.names]
        if self.identity:
            return torch.cat(flat, dim=1)
        out = torch.zeros(batch, self.dim, device=flat[0].device)
        for name, g in zip(self.names, flat, strict=True):
            out.addmm_(g, self.block(name))
        return out
