"""Exact model-level attribution: differentiate the recorded training run itself (MAGIC-style replay).

Training is a deterministic function of (spec, records, parent adapter): seeded initialisation, a data
order from a generator seeded by the spec, dropout masks from the seeded global generator, fixed
threads. Give every training record a weight w_i in its batch's loss (1 in the run that happened); the
final adapter is then a differentiable function theta_T(w), and so is the model-level measurement
f(w) = mean validation measurement at theta_T(w). Its gradient df/dw_i is the exact first-order effect
of that record on the model, through every step of the run: the optimizer's moments, the records that
came after it, and the curvature along the path, with none of the assumptions an influence function
makes (convergence, a fixed Hessian, one checkpoint).

It is computed by reverse-mode differentiation through the optimizer steps (Engstrom et al., "MAGIC",
arXiv 2504.16430):
1. replay the run forward with the real optimizer, keeping each step's (parameters, optimizer moments,
   random-generator state); the replayed adapter must equal the trained one, which also proves the
   replay used the same records, order and code;
2. take the gradient of f at the final parameters;
3. walk the steps backwards: at each, recompute that batch's weighted loss gradient with its own dropout
   masks (the saved generator state) and pull the adjoint through the optimizer update; the part of the
   adjoint that lands on the batch's weights is the records' metagradient at that step.
States are kept for every step when they fit `state_budget_mb`, else at segment boundaries only, each
segment replayed once more on the way back: same numbers either way, about one more training pass.

"Removing" a record means w_i = 0 with the same batch layout and seed (the counterfactual a deterministic
run defines); `retrain_with_weights` computes it directly and is the ground truth the benchmark checks
the metagradients against.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from worker.attribution.progress import ProgressCallback, stage_tracker
from worker.attribution.tasks import task_for
from worker.errors import AttributionError, OpenLedgerError
from worker.train.batches import IGNORE, Example, collate, encode_records
from worker.train.determinism import deterministic, pick_device
from worker.train.modeling import LoadedModel, build_model
from worker.train.parent import load_parent_adapter
from worker.train.records import Record
from worker.train.spec import TrainingSpec
from worker.train.trainer import Prepared, epoch_batches, finalize_spec, make_optimizer, prepare


@dataclass(frozen=True)
class ReplayResult:
    scores: torch.Tensor  # (n_train,) d f / d w_i, in training-record order: > 0 means the record helped
    measurement: float  # f at the final adapter
    steps: int
    # largest |replayed - trained| over the adapter's tensors: 0.0 when the replay reproduced it bit for bit
    max_abs_diff: float
    seconds: float  # wall time of the whole replay (never part of a hashed result)


# On CPU the replay is the run, bit for bit: any difference means other records, order, parent, code or
# versions, and the metagradients would be of another run. Other devices' kernels may add float noise:
# there the replayed adapter may differ by at most this share of what training moved its weights.
REPRODUCTION_TOLERANCE = 1e-3


ADAM_BETAS, SGD_MOMENTUM = (0.9, 0.999), 0.9  # torch's defaults, as worker/train uses them

State = tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]  # parameters, moment 1, moment 2


@dataclass
class _Step:
    indices: list[int]
    rng: list[torch.Tensor] = field(default_factory=list)  # generator states before the forward pass
    state: State | None = None  # before the step, while kept


def _rng_state(device: torch.device) -> list[torch.Tensor]:
    states = [torch.get_rng_state()]
    if device.type == "cuda":
        states.append(torch.cuda.get_rng_state(device))
    return states


def _set_rng_state(device: torch.device, states: list[torch.Tensor]) -> None:
    torch.set_rng_state(states[0])
    if device.type == "cuda":
        torch.cuda.set_rng_state(states[1], device)


class ReplayRun:
    """One training run rebuilt exactly as `train` built it: the model (seeded initialisation, the parent's
    adapter for a derived model), its training examples, and its batch schedule."""

    def __init__(
        self, spec: TrainingSpec, records: Sequence[Record], parent_dir: Path | None, device: str | None
    ):
        try:
            spec = finalize_spec(spec, records)
        except OpenLedgerError as exc:
            raise AttributionError(f"training records: {exc}") from exc
        if spec.start_from and parent_dir is None:
            raise AttributionError(
                f"the model was trained from adapter {spec.start_from}: replaying it needs that bundle"
            )
        self.spec = spec
        self.device = pick_device(device)
        self.loaded: LoadedModel = build_model(spec)
        if parent_dir is not None and spec.start_from:
            load_parent_adapter(self.loaded.model, spec, parent_dir)
        self.data: Prepared = prepare(self.loaded, records)
        if not self.data.train:
            raise AttributionError("no training records left after the validation split")
        self.model = self.loaded.model.to(self.device)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.pad_id = self.loaded.tokenizer.pad_token_id
        order = torch.Generator().manual_seed(spec.seed)  # as trainer.fit draws it, epoch after epoch
        n = len(self.data.train)
        self.schedule = [b for _ in range(spec.epochs) for b in epoch_batches(n, spec.batch_size, order)]

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        examples: list[Example] = [self.data.train[i] for i in indices]
        return {k: v.to(self.device) for k, v in collate(examples, self.pad_id).items()}

    def encode(self, records: Sequence[Record]) -> list[Example]:
        try:
            return encode_records(
                records, self.loaded.tokenizer, self.spec.task, self.spec.labels, self.spec.max_length
            ).examples
        except OpenLedgerError as exc:
            raise AttributionError(f"measurement records: {exc}") from exc

    def weighted_loss(self, batch: dict[str, torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        """The batch loss training minimises with each example's part scaled by its weight. At weights 1 it
        is the model's own loss: the batch mean for a classifier, the mean over the batch's completion
        tokens for a language model. The divisor does not depend on the weights, so a weight of 0 leaves
        the batch exactly as if the example were not in it but its place kept."""
        logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        labels = batch["labels"]
        if labels.dim() == 1:
            return (weights * F.cross_entropy(logits, labels, reduction="none")).sum() / len(labels)
        shifted, targets = logits[:, :-1], labels[:, 1:]
        valid = targets != IGNORE
        nll = F.cross_entropy(
            shifted.reshape(-1, shifted.shape[-1]), targets.clamp(min=0).reshape(-1), reduction="none"
        ).view_as(targets)
        return (weights * (nll * valid).sum(1)).sum() / valid.sum().clamp(min=1)

    def measure(self, examples: Sequence[Example], batch_size: int = 16) -> torch.Tensor:
        """Mean measurement of `examples` (a classifier's margin, a language model's log-likelihood, as in
        worker/attribution/tasks.py) at the current weights, in eval mode, differentiable in them."""
        task = task_for(self.spec.task)
        self.model.eval()
        total = torch.zeros((), device=self.device)
        for start in range(0, len(examples), batch_size):
            batch = self.batch_of(examples[start : start + batch_size])
            logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            for row in range(len(logits)):
                total = total + task.measurement(logits[row], batch["labels"][row])
        return total / len(examples)

    def batch_of(self, examples: Sequence[Example]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device) for k, v in collate(examples, self.pad_id).items()}

    def load(self, theta: Sequence[torch.Tensor]) -> None:
        with torch.no_grad():
            for p, value in zip(self.params, theta, strict=True):
                p.copy_(value)

    def state(self, optimizer: torch.optim.Optimizer) -> State:
        """Copies of the parameters and the optimizer's moments (Adam: first and second; SGD: the momentum
        buffer and an empty second), zeros before the first step."""
        first, second = [], []
        for p in self.params:
            kept = optimizer.state.get(p, {})
            if self.spec.optimizer == "sgd":
                first.append(_copy_or_zeros(kept.get("momentum_buffer"), p))
                second.append(p.new_zeros(0))
            else:
                first.append(_copy_or_zeros(kept.get("exp_avg"), p))
                second.append(_copy_or_zeros(kept.get("exp_avg_sq"), p))
        return [p.detach().clone() for p in self.params], first, second

    def resume(self, step: int, state: State) -> torch.optim.Optimizer:
        """The model and a fresh optimizer put back into a kept state (after `step` steps)."""
        theta, first, second = state
        self.load(theta)
        optimizer = make_optimizer(self.spec, self.model)
        for p, m, v in zip(self.params, first, second, strict=True) if step else ():
            if self.spec.optimizer == "sgd":
                optimizer.state[p] = {"momentum_buffer": m.clone()}
            else:
                optimizer.state[p] = {
                    "step": torch.tensor(float(step)),
                    "exp_avg": m.clone(),
                    "exp_avg_sq": v.clone(),
                }
        return optimizer

    def adapter_difference(self, model_dir: Path) -> float:
        """max |replayed - trained| over the tensors of the adapter saved in `model_dir`."""
        from peft import get_peft_model_state_dict
        from safetensors.torch import load_file

        trained = load_file(str(model_dir / "adapter_model.safetensors"))
        replayed = get_peft_model_state_dict(self.model)
        if sorted(trained) != sorted(replayed):
            raise AttributionError(f"the adapter in {model_dir} does not have the tensors its spec gives")
        return max(float((replayed[k].detach().cpu() - trained[k]).abs().max()) for k in sorted(trained))


def _copy_or_zeros(value: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if value is None else value.detach().clone()


def _safe_sqrt(v: torch.Tensor) -> torch.Tensor:
    # sqrt(0) has an infinite slope. An exactly-zero second moment (a LoRA A matrix before B has moved)
    # gets slope 0 instead, so no 0 * inf turns the adjoint into NaN; the value is sqrt's everywhere.
    return torch.where(v > 0, v.clamp(min=torch.finfo(v.dtype).tiny).sqrt(), torch.zeros_like(v))


def _update(spec: TrainingSpec, step: int, state: State, grads: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """torch.optim's step (AdamW, or SGD with momentum) without in-place ops, so that autograd can pull an
    adjoint through it; `step` counts from 1. Returns the new parameters, first and second moments."""
    theta, first, second = state
    lr, wd = spec.lr, spec.weight_decay
    if spec.optimizer == "sgd":
        bufs = [
            (g + wd * p) if step == 1 else SGD_MOMENTUM * b + (g + wd * p)
            for p, b, g in zip(theta, first, grads, strict=True)
        ]
        return [p - lr * b for p, b in zip(theta, bufs, strict=True)] + bufs + list(second)
    beta1, beta2 = ADAM_BETAS
    step_size, correction2 = lr / (1 - beta1**step), (1 - beta2**step) ** 0.5
    ms = [torch.lerp(m, g, 1 - beta1) for m, g in zip(first, grads, strict=True)]
    vs = [beta2 * v + (1 - beta2) * g * g for v, g in zip(second, grads, strict=True)]
    thetas = [
        p * (1 - lr * wd) - step_size * m / (_safe_sqrt(v) / correction2 + spec.adam_epsilon)
        for p, m, v in zip(theta, ms, vs, strict=True)
    ]
    return thetas + ms + vs


def _forward(
    run: ReplayRun,
    steps: list[_Step],
    optimizer: torch.optim.Optimizer,
    span: range,
    keep: Callable[[int], bool],
    advance: Callable[[int], None] | None = None,
) -> None:
    """Steps `span` as training took them (the trainer's loss, the real optimizer), keeping the state
    before step t where keep(t). The first pass records each step's generator state; later passes
    restore it, so every pass draws the same dropout masks."""
    run.model.train()
    for t in span:
        if keep(t):
            steps[t].state = run.state(optimizer)
        if steps[t].rng:
            _set_rng_state(run.device, steps[t].rng)
        else:
            steps[t].rng = _rng_state(run.device)
        loss = run.model(**run.batch(steps[t].indices)).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if advance is not None:
            advance(1)


def _backward_step(
    run: ReplayRun, step: _Step, number: int, adjoint: list[torch.Tensor]
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Pull the adjoint of the state after step `number` (from 1) back to the state before it, and return
    it with d f / d w of the step's examples."""
    assert step.state is not None
    theta, first, second = step.state
    run.load(theta)
    run.model.train()
    _set_rng_state(run.device, step.rng)
    moments = [m.clone().requires_grad_(m.numel() > 0) for m in (*first, *second)]
    weights = torch.ones(len(step.indices), device=run.device, requires_grad=True)
    grads = torch.autograd.grad(
        run.weighted_loss(run.batch(step.indices), weights), run.params, create_graph=True
    )
    n = len(run.params)
    new = _update(run.spec, number, (run.params, moments[:n], moments[n:]), grads)
    inputs = [*run.params, *moments, weights]
    live = [i for i, x in enumerate(new) if x.requires_grad]
    pulled = torch.autograd.grad(
        [new[i] for i in live],
        [x for x in inputs if x.requires_grad],
        grad_outputs=[adjoint[i] for i in live],
        allow_unused=True,
    )
    it = iter(pulled)
    out = [
        (g if (g := next(it)) is not None else torch.zeros_like(x)).detach()
        if x.requires_grad
        else torch.zeros_like(x)
        for x in inputs
    ]
    return out[:-1], out[-1].cpu()


def _tolerance(run: ReplayRun, first: _Step) -> float:
    """How far the replayed adapter may be from the trained one: 0 on CPU, else REPRODUCTION_TOLERANCE x
    the largest change training made to a weight (from the state before the first step)."""
    if run.device.type == "cpu" or first.state is None:
        return 0.0
    moved = max(
        float((p.detach() - p0).abs().max()) for p, p0 in zip(run.params, first.state[0], strict=True)
    )
    return REPRODUCTION_TOLERANCE * moved


def segment_length(steps: int, state_bytes: int, budget_mb: int) -> int:
    """Every state kept when they fit the budget, else one per segment of ~sqrt(steps) steps (about
    2*sqrt(steps) states live at once), the price being one more forward pass over the run."""
    if steps * state_bytes <= budget_mb * 2**20:
        return steps
    return max(1, math.isqrt(steps))


def replay_scores(
    model_dir: str | Path,
    records: Sequence[Record],
    targets: Sequence[Record],
    parent_dir: Path | None = None,
    device: str | None = None,
    state_budget_mb: int = 1024,
    progress: ProgressCallback | None = None,
) -> ReplayResult:
    """d f / d w_i for every training record, f the mean measurement of `targets` (e.g. the validation
    split) at the final adapter; see the module docstring. `records`: every record the model was trained
    on, as given to `train` (the validation split is taken out again, as training did)."""
    model_dir = Path(model_dir)
    spec = TrainingSpec.from_json((model_dir / "spec.json").read_text())
    if not targets:
        raise AttributionError("no records to measure the model on: model-level replay needs at least one")
    started = time.perf_counter()
    with deterministic(spec.seed, spec.cpu_threads):
        run = ReplayRun(spec, records, parent_dir, device)
        examples = run.encode(targets)
        steps = [_Step(indices) for indices in run.schedule]
        params = sum(p.numel() for p in run.params)
        segment = segment_length(len(steps), params * 4 * 3, state_budget_mb)
        keep_all = segment == len(steps)
        first_pass = stage_tracker(progress, "replay", len(steps))
        _forward(
            run,
            steps,
            make_optimizer(spec, run.model),
            range(len(steps)),
            lambda t: keep_all or t % segment == 0,
            first_pass,
        )
        difference = run.adapter_difference(model_dir)
        if difference > _tolerance(run, steps[0]):
            raise AttributionError(
                f"replaying the training run did not reproduce the adapter in {model_dir} (max difference "
                f"{difference:.3g}): not the records, parent or library versions it was trained with"
            )
        measurement = run.measure(examples)
        adjoint = [g.detach() for g in torch.autograd.grad(measurement, run.params)]
        adjoint += [torch.zeros_like(p) for p in run.params]
        adjoint += [p.new_zeros(0) if spec.optimizer == "sgd" else torch.zeros_like(p) for p in run.params]
        scores = torch.zeros(len(run.data.train), dtype=torch.float64)
        advance = stage_tracker(progress, "metagradient", len(steps))
        for start in reversed(range(0, len(steps), segment)):
            stop = min(start + segment, len(steps))
            if any(steps[t].state is None for t in range(start, stop)):
                kept = steps[start].state
                assert kept is not None
                _forward(run, steps, run.resume(start, kept), range(start, stop), lambda t: True)
            for t in reversed(range(start, stop)):
                adjoint, weight_grad = _backward_step(run, steps[t], t + 1, adjoint)
                scores[steps[t].indices] += weight_grad.double()
                steps[t].state = None
                if advance is not None:
                    advance(1)
    return ReplayResult(
        scores=scores.float(),
        measurement=float(measurement.detach()),
        steps=len(steps),
        max_abs_diff=difference,
        seconds=time.perf_counter() - started,
    )


def retrain_with_weights(
    spec: TrainingSpec,
    records: Sequence[Record],
    targets: Sequence[Record],
    weights: Sequence[float] | torch.Tensor,
    parent_dir: Path | None = None,
    device: str | None = None,
) -> float:
    """The mean measurement of `targets` after training `spec` on `records` with each training record's
    loss weighted (weights in training-record order; 0 removes a record and keeps its place in the batch
    layout, seed and dropout draws): the fixed-seed counterfactual that `replay_scores` differentiates."""
    with deterministic(spec.seed, spec.cpu_threads):
        run = ReplayRun(spec, records, parent_dir, device)
        w = torch.as_tensor(weights, dtype=torch.float32).to(run.device)
        if w.shape != (len(run.data.train),):
            raise AttributionError(
                f"need one weight per training record ({len(run.data.train)}), got {tuple(w.shape)}"
            )
        optimizer = make_optimizer(run.spec, run.model)
        run.model.train()
        for indices in run.schedule:
            loss = run.weighted_loss(run.batch(indices), w[indices])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            optimizer.step()
        with torch.no_grad():
            return float(run.measure(run.encode(targets)))
