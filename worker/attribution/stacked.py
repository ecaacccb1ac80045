"""One forward/backward pass for every checkpoint of an ensemble at once (the per-query path).

The query is repeated once per member and row c runs through member c's LoRA and head weights: each
tracked nn.Linear (LoRA A/B, the classifier head) is swapped, for the duration of one pass, for a
StackedLinear holding the members' weights stacked on a leading dimension (a batched matmul), while the
frozen base weights serve all rows in one larger matmul. Row c only touches member c's slice, so the
gradient of the summed measurements with respect to the stacked weights is every member's own gradient:
the same numbers as one backward per member, with the frozen matmuls (most of the cost) run at C times
the rows, where a CPU runs them far more efficiently than C small ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import nn


class StackedLinear(nn.Module):
    """C linear maps applied row-wise: input (C, ..., in) -> (C, ..., out), row c by weight[c]."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.weight, self.bias = weight, bias  # plain tensors (leaves we differentiate), not Parameters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(self.weight.shape[0], -1, x.shape[-1])
        weight_t = self.weight.transpose(1, 2)
        out = rows @ weight_t if self.bias is None else torch.baddbmm(self.bias[:, None, :], rows, weight_t)
        return out.reshape(*x.shape[:-1], self.weight.shape[1])


def _owners(model: nn.Module, names: Sequence[str]) -> dict[str, dict[str, str]] | None:
    """module name -> {"weight": parameter name, "bias": ...}; None unless every name is a Linear's."""
    modules = dict(model.named_modules())
    owners: dict[str, dict[str, str]] = {}
    for name in names:
        module, _, attr = name.rpartition(".")
        if not isinstance(modules.get(module), nn.Linear) or attr not in ("weight", "bias"):
            return None
        owners.setdefault(module, {})[attr] = name
    for module, attrs in owners.items():  # a frozen bias beside a tracked weight: not worth a special case
        if "weight" not in attrs or (modules[module].bias is not None and "bias" not in attrs):
            return None
    return owners


def can_stack(model: nn.Module, names: Sequence[str]) -> bool:
    return _owners(model, names) is not None


@contextmanager
def stacked_members(
    model: nn.Module, names: Sequence[str], states: Sequence[Mapping[str, torch.Tensor]]
) -> Iterator[list[torch.Tensor]]:
    """Within the block the model runs member c on batch row c; yields the stacked weights, in `names`
    order, as leaves requiring grad (their gradients are the members' gradients, stacked)."""
    owners = _owners(model, names)
    if owners is None:
        raise ValueError("stacked members need every tracked parameter to belong to an nn.Linear")
    modules = dict(model.named_modules())
    device = next(model.parameters()).device
    stacked = {n: torch.stack([s[n] for s in states]).to(device).requires_grad_() for n in names}
    originals: list[tuple[nn.Module, str, nn.Module]] = []
    try:
        for module, attrs in owners.items():
            parent, _, child = module.rpartition(".")
            bias = stacked[attrs["bias"]] if "bias" in attrs else None
            originals.append((modules[parent], child, modules[module]))
            setattr(modules[parent], child, StackedLinear(stacked[attrs["weight"]], bias))
        yield [stacked[n] for n in names]
    finally:
        for parent_module, child, original in originals:
            setattr(parent_module, child, original)
