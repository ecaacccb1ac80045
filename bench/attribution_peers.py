"""Peer methods on the same model and data (the `bench` extra): kronfluence EK-FAC and identity, traker's
TRAK, dattri's DataInf and Grad-Dot.

Scores are converted to our convention (the change in the query's measurement from including the
record): kronfluence and dattri return grad f^T H^-1 grad L_i, and including record i moves f by minus
that; TRAK's scores already have our orientation. Every function returns scores (queries x records) and
seconds. Loss and measurement are our engine's (worker/attribution/tasks.py), so every peer explains
what ours does: a classifier's margin, or a language model's total log-likelihood of the query text.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from worker.attribution.tasks import task_for
from worker.train import load_trained
from worker.train.batches import IGNORE, collate, encode_records


def _batch(loaded, records: list[dict]) -> dict[str, torch.Tensor]:
    spec = loaded.spec
    examples = encode_records(records, loaded.tokenizer, spec.task, spec.labels, spec.max_length).examples
    return collate(examples, loaded.tokenizer.pad_token_id)


def _dataset(loaded, records: list[dict]) -> list[dict[str, torch.Tensor]]:
    batch = _batch(loaded, records)
    return [{k: v[i] for k, v in batch.items()} for i in range(len(batch["input_ids"]))]


def _rows(fn, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B,) one of our task's per-example functions over a batch (a loop: B is 1 under vmap)."""
    return torch.stack([fn(row, target) for row, target in zip(logits, targets, strict=True)])


def _sampled_targets(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Targets drawn from the model's own predictions (kronfluence's true Fisher), where labels are."""
    with torch.no_grad():
        flat = torch.softmax(logits.detach().float(), -1).reshape(-1, logits.shape[-1])
        drawn = torch.multinomial(flat, 1).reshape(logits.shape[:-1])
    if targets.dim() == 1:  # classification: one label per example
        return drawn
    # position t predicts token t+1: a drawn token at t becomes the target at t+1
    shifted = torch.cat([targets[:, :1], drawn[:, :-1]], dim=1)
    return torch.where(targets == IGNORE, targets, shifted)


def kronfluence_scores(model_dir: Path, train: list[dict], queries: list[dict]) -> dict[str, dict]:
    from kronfluence.analyzer import Analyzer, prepare_model
    from kronfluence.arguments import FactorArguments
    from kronfluence.task import Task

    loaded = load_trained(model_dir)
    ours = task_for(loaded.spec.task)

    class MeasurementTask(Task):
        def compute_train_loss(self, batch, model, sample=False):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            targets = _sampled_targets(logits, batch["labels"]) if sample else batch["labels"]
            return _rows(ours.training_loss, logits.float(), targets).sum()

        def compute_measurement(self, batch, model):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            return _rows(ours.measurement, logits.float(), batch["labels"]).sum()

        def get_influence_tracked_modules(self):
            return tracked

        def get_attention_mask(self, batch):
            return batch["attention_mask"]

    model = loaded.model.eval()
    tracked = [
        n
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear)
        and (
            n.endswith("lora_A.default")
            or n.endswith("lora_B.default")
            or n.endswith("modules_to_save.default")
        )
    ]
    task = MeasurementTask()
    model = prepare_model(model, task)
    train_set, query_set = _dataset(loaded, train), _dataset(loaded, queries)
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        analyzer = Analyzer("bench", model, task, cpu=True, disable_tqdm=True, output_dir=folder)
        for strategy in ("ekfac", "identity"):
            started = time.perf_counter()
            args = FactorArguments(strategy=strategy)
            analyzer.fit_all_factors(strategy, train_set, per_device_batch_size=16, factor_args=args)
            analyzer.compute_pairwise_scores(
                strategy,
                strategy,
                query_set,
                train_set,
                per_device_query_batch_size=len(query_set),
                per_device_train_batch_size=16,
            )
            raw = analyzer.load_pairwise_scores(strategy)["all_modules"]
            out[strategy] = {
                "scores": -np.asarray(raw, dtype=np.float64),
                "seconds": time.perf_counter() - started,
            }
    return out


def _tensors(loaded, records: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """input_ids (n, L), the 4-D additive attention bias (n, 1, L, L) that torch.func needs, and the
    targets: (n,) labels for a classifier, (n, L) token targets for a language model."""
    batch = _batch(loaded, records)
    ours = task_for(loaded.spec.task)
    bias = torch.stack([ours.additive_mask(m) for m in batch["attention_mask"]])
    return batch["input_ids"], bias, batch["labels"]


def _checkpoints(model_dir: Path) -> list[dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    from worker.train.artifacts import checkpoint_paths

    return [load_file(str(p)) for p in checkpoint_paths(model_dir)]


def _trak_parts(damping_ratio: float | None, kind: str):
    """traker plug-ins: our measurement as the model output, trainable-only gradients, the damping rule.
    The output-to-loss factor is TRAK's 1 - p(label) for a classifier; for a language model the loss is
    minus the (length-normalised) log-likelihood, so the factor is 1 / the record's target tokens."""
    from trak.gradient_computers import FunctionalGradientComputer
    from trak.modelout_functions import AbstractModelOutput
    from trak.score_computers import BasicScoreComputer

    class ScaleFreeDamping(BasicScoreComputer):
        def get_x_xtx_inv(self, grads, xtx):
            if damping_ratio is not None:
                self.lambda_reg = damping_ratio * float(torch.diagonal(xtx).mean())
            return super().get_x_xtx_inv(grads, xtx)

    class TrainableOnly(FunctionalGradientComputer):
        """traker differentiates every parameter; frozen base weights ride along as 'buffers' instead."""

        def load_model_params(self, model) -> None:
            named = dict(model.named_parameters())
            self.func_weights = {k: p.detach() for k, p in named.items() if p.requires_grad}
            frozen = {k: p.detach() for k, p in named.items() if not p.requires_grad}
            self.func_buffers = {**dict(model.named_buffers()), **frozen}

    ours = task_for(kind)

    class Measurement(AbstractModelOutput):
        def __init__(self) -> None:
            super().__init__()

        @staticmethod
        def get_output(model, weights, buffers, input_id, bias, label):
            kwargs = {"input_ids": input_id[None], "attention_mask": bias[None]}
            logits = torch.func.functional_call(model, (weights, buffers), args=(), kwargs=kwargs).logits
            return ours.measurement(logits[0], label)

        def get_out_to_loss_grad(self, model, weights, buffers, batch):
            input_ids, bias, labels = batch
            if kind != "classification":
                return (1 / (labels[:, 1:] != IGNORE).sum(1, keepdim=True).clamp(min=1)).float()
            kwargs = {"input_ids": input_ids, "attention_mask": bias}
            logits = torch.func.functional_call(model, (weights, buffers), args=(), kwargs=kwargs).logits
            return (1 - torch.softmax(logits, -1).gather(1, labels[:, None])).detach()

    return Measurement, TrainableOnly, ScaleFreeDamping


def trak_scores(
    model_dir: Path, train: list[dict], queries: list[dict], damping_ratio: float | None = None
) -> dict:
    """traker (TRAK, Park et al. 2023) over the same 3 checkpoints, CPU projector, LoRA + head gradients.

    damping_ratio None: traker's defaults (lambda_reg = 0), so (Phi^T Phi)^-1 needs fewer projected
    dimensions than the 800 training rows: 512, and it is still ill-conditioned. Otherwise traker's
    lambda_reg follows our scale-free rule (damping_ratio x the mean eigenvalue of each checkpoint's
    Phi^T Phi), with our 1024 dimensions: the same regularisation as ours, inside traker's own code."""
    from trak import TRAKer
    from trak.projectors import BasicProjector, ProjectionType

    proj_dim = 512 if damping_ratio is None else 1024
    loaded = load_trained(model_dir)
    Measurement, TrainableOnly, ScaleFreeDamping = _trak_parts(damping_ratio, loaded.spec.task)
    model = loaded.model.eval()
    trainable = [k for k, p in model.named_parameters() if p.requires_grad]
    grad_dim = sum(p.numel() for p in model.parameters() if p.requires_grad)
    train_t, query_t = _tensors(loaded, train), _tensors(loaded, queries)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        projector = BasicProjector(grad_dim, proj_dim, 0, ProjectionType.rademacher, "cpu", 16, torch.float32)
        traker = TRAKer(
            model=model, task=Measurement(), train_set_size=len(train), save_dir=folder, device="cpu",
            projector=projector, proj_dim=proj_dim, use_half_precision=False, grad_wrt=trainable,
            gradient_computer=TrainableOnly, score_computer=ScaleFreeDamping,
        )  # fmt: skip
        states = [dict(model.state_dict(), **state) for state in _checkpoints(model_dir)]
        for model_id, state in enumerate(states):
            traker.load_checkpoint(state, model_id=model_id)
            for start in range(0, len(train), 16):
                batch = [t[start : start + 16] for t in train_t]
                traker.featurize(batch=batch, num_samples=len(batch[0]))
        traker.finalize_features()
        for model_id, state in enumerate(states):
            traker.start_scoring_checkpoint("bench", state, model_id, num_targets=len(queries))
            traker.score(batch=list(query_t), num_samples=len(queries))
        scores = traker.finalize_scores("bench")  # (n_train, n_queries); positive = helps the margin
    return {"scores": np.asarray(scores, dtype=np.float64).T, "seconds": time.perf_counter() - started}


def _memoized_datainf(task, regularization):
    """dattri 0.3.0's DataInf with two changes of bookkeeping and none of arithmetic:
    - the per-example gradients are detached: dattri takes them with torch.func.grad of parameters that
      require grad, so each cached training gradient kept its whole forward graph alive (~35 MB a record:
      the 24 GB OOM);
    - `attribute` recomputes each query batch's gradients and re-runs DataInf's transformation of them (a
      pass over every cached training gradient) once per *training* batch, 50 times here (~30 min). Both
      depend only on (checkpoint, query batch), so they are kept after the first time."""
    from dattri.algorithm.influence_function import IFAttributorDataInf

    class MemoizedDataInf(IFAttributorDataInf):
        def __init__(self) -> None:
            super().__init__(task, device="cpu", regularization=regularization)
            self._reps: dict[tuple, torch.Tensor] = {}
            self._transformed: dict[tuple, torch.Tensor] = {}
            self._key: tuple = ()

        def generate_train_rep(self, ckpt_idx, data):
            return super().generate_train_rep(ckpt_idx, data).detach()

        def generate_test_rep(self, ckpt_idx, data):
            self._key = (ckpt_idx, *(t.numpy().tobytes() for t in data))
            if self._key not in self._reps:
                self._reps[self._key] = super().generate_test_rep(ckpt_idx, data).detach()
            return self._reps[self._key]

        def transform_test_rep(self, ckpt_idx, test_rep):
            if self._key not in self._transformed:
                self._transformed[self._key] = super().transform_test_rep(ckpt_idx, test_rep)
            return self._transformed[self._key]

    return MemoizedDataInf()


DATTRI_METHODS = ("datainf", "grad_dot")


def dattri_scores(
    model_dir: Path, train: list[dict], queries: list[dict], methods: tuple[str, ...] = DATTRI_METHODS
) -> dict[str, dict]:
    """dattri DataInf (Kwon et al. 2024) and Grad-Dot on the final adapter, its trainable parameters.

    dattri returns grad L_i^T H^-1 grad f (DataInf) or grad L_i . grad f (Grad-Dot); including record i
    moves the measurement f by minus that, so the sign is flipped into our convention."""
    from dattri.algorithm.tracin import TracInAttributor
    from dattri.task import AttributionTask
    from torch.utils.data import DataLoader, TensorDataset

    from worker.train.modeling import load_trainable_state, trainable_state

    loaded = load_trained(model_dir)
    model = loaded.model.eval()

    def logits(params, input_ids, bias):
        kwargs = {"input_ids": input_ids, "attention_mask": bias}
        return torch.func.functional_call(model, params, args=(), kwargs=kwargs).logits

    def batched(data):  # dattri's IF path keeps a batch dimension of 1 under vmap, TracIn drops it
        input_ids, bias, labels = data
        return (
            (input_ids, bias, labels) if input_ids.dim() == 2 else (input_ids[None], bias[None], labels[None])
        )

    ours = task_for(loaded.spec.task)

    def loss(params, data):
        input_ids, bias, labels = batched(data)
        return _rows(ours.training_loss, logits(params, input_ids, bias), labels).mean()

    def margin(params, data):
        input_ids, bias, labels = batched(data)
        return _rows(ours.measurement, logits(params, input_ids, bias), labels).sum()

    def load(module, state):
        load_trainable_state(module, state)
        return module.eval()

    task = AttributionTask(loss, model, [trainable_state(model)], margin, checkpoints_load_func=load)
    train_loader = DataLoader(TensorDataset(*_tensors(loaded, train)), batch_size=16)
    # DataInf's transformation holds (query batch)^2 x parameters floats at once: 16 queries per batch
    query_loader = DataLoader(TensorDataset(*_tensors(loaded, queries)), batch_size=16)
    out: dict[str, dict] = {}
    grad_dot = TracInAttributor(task, weight_list=torch.ones(1), normalized_grad=False)
    grad_dot.projector_kwargs = None  # exact Grad-Dot: dattri's TracIn projects to 512 dims by default
    # DataInf's damping: dattri's own default (0.1) when regularization is None
    attributors = {"datainf": lambda: _memoized_datainf(task, None), "grad_dot": lambda: grad_dot}
    for name in methods:
        attributor = attributors[name]()
        started = time.perf_counter()
        if name == "datainf":
            attributor.cache(train_loader)
        raw = attributor.attribute(train_loader, query_loader)  # (n_train, n_queries)
        out[name] = {
            "scores": -np.asarray(raw.detach(), dtype=np.float64).T,
            "seconds": time.perf_counter() - started,
        }
    return out
