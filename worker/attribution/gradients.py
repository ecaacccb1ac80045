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
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.func import functional_call, grad_and_value, vmap

from worker.attribution.arguments import FeatureArguments
from worker.attribution.projection import RandomProjector
from worker.attribution.stacked import can_stack, stacked_members
from worker.attribution.tasks import AttributionTask
from worker.train.batches import Example, collate

HEAD_MARKER = "modules_to_save"  # peft's name for the trained copy of the classifier head
_LAYER = re.compile(r"\.(\d+)\.")

Scalar = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, target) -> loss or measurement
StepResult = tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]  # (gradients, value, logits)
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], StepResult]  # (input_ids, bias, target) -> ...
# (params, input_ids, bias, targets) -> (per-example gradients by parameter name, values)
BatchedGrad = Callable[
    [dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor],
    tuple[dict[str, torch.Tensor], torch.Tensor],
]


@dataclass
class Gradients:
    """Unprojected gradients of one example, one row per model state, with the scalar measured and the
    logits of the (last) state: what the serving path answers with."""

    flat: torch.Tensor  # (C, total)
    values: torch.Tensor  # (C,)
    logits: torch.Tensor  # the last state's logits for this example


def _predicted(logits: torch.Tensor) -> torch.Tensor:
    return logits.detach().argmax(-1)


@dataclass
class Features:
    features: torch.Tensor  # (n, k) projected gradients
    values: torch.Tensor  # (n,) the loss or measurement value of each example


def _layer_of(name: str) -> int | None:
    """The block a parameter sits in: the first numeric component of its dotted name (`layer.3`,
    `layers.17`, `h.5`); None for parameters outside the repeated blocks (the classifier head)."""
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None


def tracked_parameters(model: torch.nn.Module, args: FeatureArguments) -> dict[str, torch.Tensor]:
    """The trainable parameters whose gradients are features: the LoRA matrices of the top
    `lora_layers` share of adapted blocks (to the nearest block, at least one for a positive share), and
    the head when `include_head`."""
    named = dict(model.named_parameters())
    trainable = {n: named[n] for n in trainable_names(model)}
    layers = sorted({d for n in trainable if (d := _layer_of(n)) is not None})
    count = max(1, math.floor(len(layers) * args.lora_layers + 0.5)) if args.lora_layers > 0 else 0
    kept = set(layers[len(layers) - count :]) if count else set()

    def tracked(name: str) -> bool:
        if HEAD_MARKER in name:
            return args.include_head
        layer = _layer_of(name)
        return layer is None or layer in kept

    return {name: p.detach() for name, p in trainable.items() if tracked(name)}


def trainable_names(model: torch.nn.Module) -> list[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad]


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
    ) -> None:
        self.model, self.task, self.args, self.pad_id, self.device = model, task, args, pad_id, device
        self.compiled = compiled
        self._compiled: dict[tuple[str, bool], Step] = {}
        model.eval()
        shapes = {n: p.shape for n, p in tracked_parameters(model, args).items()}
        if not shapes:
            raise ValueError("the model has no trainable parameters to attribute through")
        self.projector = RandomProjector(
            shapes, args.projection_dim, args.projection_kind, args.projection_seed, device
        )
        self._scalars: dict[str, Scalar] = {"loss": task.training_loss, "measurement": task.measurement}
        self._fns = {kind: self._vmapped(fn) for kind, fn in self._scalars.items()}
        # the live parameters, in the projector's order, for the plain-autograd single-example path
        named = dict(model.named_parameters())
        self._live = [named[n] for n in self.projector.names]
        self._trainable = trainable_names(model)

    def _vmapped(self, scalar_fn: Scalar) -> BatchedGrad:
        model = self.model

        def one(
            params: dict[str, torch.Tensor], input_ids: torch.Tensor, bias: torch.Tensor, target: torch.Tensor
        ) -> torch.Tensor:
            out = functional_call(
                model, params, (), {"input_ids": input_ids[None], "attention_mask": bias[None]}
            )
            return scalar_fn(out.logits[0], target)

        return vmap(grad_and_value(one), in_dims=(None, 0, 0, 0))

    def _batch(self, examples: Sequence[Example]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch = collate(examples, self.pad_id)
        bias = torch.stack([self.task.additive_mask(m) for m in batch["attention_mask"]])
        return batch["input_ids"].to(self.device), bias.to(self.device), batch["labels"].to(self.device)

    def featurize(
        self, examples: Sequence[Example], kind: str, on_batch: Callable[[int], None] | None = None
    ) -> Features:
        """kind: "loss" (training records) or "measurement" (queries). `on_batch(n)` is told after each
        batch how many examples it held (progress reporting)."""
        fn = self._fns[kind]
        params = tracked_parameters(self.model, self.args)
        feats, values = [], []
        for start in range(0, len(examples), self.args.batch_size):
            input_ids, bias, targets = self._batch(examples[start : start + self.args.batch_size])
            with torch.no_grad():  # torch.func.grad still differentiates `params`; no graph for the rest
                grads, value = fn(params, input_ids, bias, targets)
            feats.append(self.projector.project(grads).cpu())
            values.append(value.detach().cpu())
            if on_batch is not None:
                on_batch(int(input_ids.shape[0]))
        return Features(torch.cat(feats), torch.cat(values))

    def member_gradients(
        self,
        example: Example,
        kind: str,
        states: Sequence[Mapping[str, torch.Tensor]],
        predicted: bool = False,
    ) -> Gradients:
        """One example's unprojected gradients (C, total) and values (C,) under each of C member states, in
        one batched forward/backward (see stacked.py); the model's own weights are left untouched.
        `predicted`: measure the class the last member (the final model) predicts, not the example's."""
        input_ids, bias, targets = self._batch([example])
        members, tracked = len(states), set(self.projector.names)
        names = [*self.projector.names, *(n for n in self._trainable if n not in tracked)]
        with torch.enable_grad(), stacked_members(self.model, names, states) as leaves:
            for untracked in leaves[len(tracked) :]:
                untracked.requires_grad_(False)  # run at their member's values, not differentiated
            logits = self.model(
                input_ids=input_ids.expand(members, -1), attention_mask=bias.expand(members, -1, -1, -1)
            ).logits
            target = _predicted(logits[-1]) if predicted else targets[0]
            scalar = self._scalars[kind]
            values = torch.stack([scalar(logits[c], target) for c in range(members)])
            grads = torch.autograd.grad(values.sum(), leaves[: len(tracked)])
        flat = torch.cat([g.reshape(members, -1) for g in grads], dim=1)
        return Gradients(flat, values.detach(), logits[-1].detach())

    def can_stack_members(self) -> bool:
        # Every trainable parameter (tracked or not) is swapped per member, so each row runs its own
        # checkpoint exactly; that needs them all to be nn.Linear weights/biases.
        return can_stack(self.model, self._trainable)

    def _step(
        self, kind: str, predicted: bool, input_ids: torch.Tensor, bias: torch.Tensor, target: torch.Tensor
    ) -> StepResult:
        logits = self.model(input_ids=input_ids, attention_mask=bias).logits[0]
        if predicted:
            target = _predicted(logits)
        value = self._scalars[kind](logits, target)
        return torch.autograd.grad(value, self._live), value.detach(), logits.detach()

    def flat_gradient(self, example: Example, kind: str, predicted: bool = False) -> Gradients:
        """One example's unprojected gradient (1, total), value and logits by one backward pass of the
        live model; `predicted` measures the class the model predicts (the logits of the same forward
        pass), which spares a serving path its own forward pass.

        The caller projects (possibly several checkpoints' gradients in one matmul)."""
        input_ids, bias, targets = self._batch([example])
        with torch.enable_grad():
            grads, value, logits = self._single(kind, predicted)(input_ids, bias, targets[0])
        return Gradients(torch.cat([g.reshape(-1) for g in grads])[None], value.reshape(1), logits)

    def _single(self, kind: str, predicted: bool) -> Step:
        """The one-example step, eager or, with `compiled`, through torch.compile (dynamic shapes: one
        compilation, ~15-50 s on first use, then ~1.4x faster on CPU as elementwise ops get fused; float
        rounding differs from eager by ~1e-6 relative). A model the compiler cannot handle falls back
        to eager, with a warning."""
        eager = functools.partial(self._step, kind, predicted)
        if not self.compiled:
            return eager
        key = (kind, predicted)
        if key not in self._compiled:
            self._compiled[key] = torch.compile(eager, dynamic=True)

        def guarded(*args: torch.Tensor) -> StepResult:
            try:
                return self._compiled[key](*args)
            except Exception as exc:  # noqa: BLE001 - any compiler failure: eager gives the same numbers
                warnings.warn(f"torch.compile failed ({type(exc).__name__}); using eager", stacklevel=2)
                self.compiled = False
                return eager(*args)

        return guarded
