"""Per-example gradients of the LoRA (+ head) parameters with torch.func, then projected.

`functional_call` + `grad` + `vmap` gives one gradient per example in a single batched pass (index
building). HF models need three things under torch.func: eager attention (set when the model is built),
a pre-built 4-D additive mask (their mask helpers branch on data, which vmap cannot trace) and
`model.eval()`. A single query skips torch.func: one plain autograd backward on the same inputs gives the
same gradient without vmap's batching overhead (the interactive path; see `flat_gradient`), and several
checkpoints take one stacked pass (`member_gradients`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.func import functional_call, grad_and_value, vmap

from worker.attribution.arguments import FeatureArguments
from worker.attribution.projection import RandomProjector
from worker.attribution.stacked import can_stack, stacked_members
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
        compiled: bool = False,
    ):
        self.model, self.task, self.args, self.pad_id, self.device = model, task, args, pad_id, device
        self.compiled, self._compiled = compiled, {}
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

    def member_gradients(
        self, example: Example, kind: str, states: Sequence[Mapping[str, torch.Tensor]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One example's unprojected gradients (C, total) and values (C,) under each of C member states, in
        one batched forward/backward (see stacked.py); the model's own weights are left untouched."""
        input_ids, bias, targets = self._batch([example])
        members = len(states)
        with torch.enable_grad(), stacked_members(self.model, self.projector.names, states) as leaves:
            logits = self.model(
                input_ids=input_ids.expand(members, -1), attention_mask=bias.expand(members, -1, -1, -1)
            ).logits
            scalar = self._scalars[kind]
            values = torch.stack([scalar(logits[c], targets[0]) for c in range(members)])
            grads = torch.autograd.grad(values.sum(), leaves)
        return torch.cat([g.reshape(members, -1) for g in grads], dim=1), values.detach()

    def can_stack_members(self) -> bool:
        # The stacked pass swaps in only the tracked parameters; without the head tracked, every member
        # would run through the final head, so such models take the per-member path.
        return self.args.include_head and can_stack(self.model, self.projector.names)

    def _step(self, kind: str, input_ids: torch.Tensor, bias: torch.Tensor, target: torch.Tensor):
        logits = self.model(input_ids=input_ids, attention_mask=bias).logits[0]
        value = self._scalars[kind](logits, target)
        return torch.autograd.grad(value, self._live), value.detach()

    def flat_gradient(self, example: Example, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
        """One example's unprojected gradient (total,) and value by one backward pass of the live model.

        The caller projects (possibly several checkpoints' gradients in one matmul)."""
        input_ids, bias, targets = self._batch([example])
        with torch.enable_grad():
            grads, value = self._single(kind)(input_ids, bias, targets[0])
        return torch.cat([g.reshape(-1) for g in grads]), value

    def _single(self, kind: str):
        """The one-example step, eager or, with `compiled`, through torch.compile (dynamic shapes: one
        compilation, ~15-50 s on first use, then ~1.4x faster on CPU as elementwise ops get fused; float
        rounding differs from eager by ~1e-6 relative). A model the compiler cannot handle falls back
        to eager, with a warning."""
        eager = functools.partial(self._step, kind)
        if not self.compiled:
            return eager
        if kind not in self._compiled:
            self._compiled[kind] = torch.compile(eager, dynamic=True)

        def guarded(*args):
            try:
                return self._compiled[kind](*args)
            except Exception as exc:  # noqa: BLE001 - any compiler failure: eager gives the same numbers
                warnings.warn(f"torch.compile failed ({type(exc).__name__}); using eager", stacklevel=2)
                self.compiled = False
                return eager(*args)

        return guarded
