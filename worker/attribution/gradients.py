"""Per-example gradients of the LoRA (+ head) parameters with torch.func, then projected.

`functional_call` + `grad` + `vmap` gives one gradient per example in a single batched pass (index
building). HF models need three things under torch.func: eager attention (set when the model is built),
a pre-built 4-D additive mask (their mask helpers branch on data, which vmap cannot trace) and
`model.eval()`. A single query skips torch.func: one plain autograd backward on the same inputs gives the
same gradient without vmap's batching overhead (the interactive path; see `flat_gradient`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.func import functional_call, grad_and_value, vmap

from worker.attribution.arguments import FeatureArguments
from worker.attribution.projection import RandomProjector
from worker.attribution.tasks import AttributionTask
from worker.train.batches import Example, collate

HEAD_MARKER = "modules_to_save"  # peft's name for the trained copy of the classifier head


@dataclass
class Features:
    features: torch.Tensor  # (n, k) projected gradients
    values: torch.Tensor  # (n,) the loss or measurement value of each example


def tracked_parameters(model: torch.nn.Module, include_head: bool) -> dict[str, torch.Tensor]:
    return {
        name: p.detach()
        for name, p in model.named_parameters()
        if p.requires_grad and (include_head or HEAD_MARKER not in name)
    }


class GradientFeaturizer:
    """Projected per-example gradients of a task's loss or measurement for one model state."""

    def __init__(
        self,
        model: torch.nn.Module,
        task: AttributionTask,
        args: FeatureArguments,
        pad_id: int,
        device: torch.device,
    ):
        self.model, self.task, self.args, self.pad_id, self.device = model, task, args, pad_id, device
        model.eval()
        shapes = {n: p.shape for n, p in tracked_parameters(model, args.include_head).items()}
        if not shapes:
            raise ValueError("the model has no trainable parameters to attribute through")
        self.projector = RandomProjector(
            shapes, args.projection_dim, args.projection_kind, args.projection_seed, device
        )
        self._scalars = {"loss": task.training_loss, "measurement": task.measurement}
        self._fns = {kind: self._vmapped(fn) for kind, fn in self._scalars.items()}
        # the live parameters, in the projector's order, for the plain-autograd single-example path
        named = dict(model.named_parameters())
        self._live = [named[n] for n in self.projector.names]

    def _vmapped(self, scalar_fn):
        model = self.model

        def one(params, input_ids, bias, target):
            out = functional_call(
                model, params, (), {"input_ids": input_ids[None], "attention_mask": bias[None]}
            )
            return scalar_fn(out.logits[0], target)

        return vmap(grad_and_value(one), in_dims=(None, 0, 0, 0))

    def _batch(self, examples: Sequence[Example]):
        batch = collate(examples, self.pad_id)
        bias = torch.stack([self.task.additive_mask(m) for m in batch["attention_mask"]])
        return batch["input_ids"].to(self.device), bias.to(self.device), batch["labels"].to(self.device)

    def featurize(self, examples: Sequence[Example], kind: str) -> Features:
        """kind: "loss" (training records) or "measurement" (queries)."""
        fn = self._fns[kind]
        params = tracked_parameters(self.model, self.args.include_head)
        feats, values = [], []
        for start in range(0, len(examples), self.args.batch_size):
            input_ids, bias, targets = self._batch(examples[start : start + self.args.batch_size])
            grads, value = fn(params, input_ids, bias, targets)
            feats.append(self.projector.project(grads).cpu())
            values.append(value.detach().cpu())
        return Features(torch.cat(feats), torch.cat(values))

    def flat_gradient(self, example: Example, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
        """One example's unprojected gradient (total,) and value by one backward pass of the live model.

        The caller projects (possibly several checkpoints' gradients in one matmul)."""
        input_ids, bias, targets = self._batch([example])
        with torch.enable_grad():
            logits = self.model(input_ids=input_ids, attention_mask=bias).logits[0]
            value = self._scalars[kind](logits, targets[0])
            grads = torch.autograd.grad(value, self._live)
        return torch.cat([g.reshape(-1) for g in grads]), value.detach()
