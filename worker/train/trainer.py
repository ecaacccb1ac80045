"""Deterministic LoRA fine-tuning: the same spec and records give a bit-identical adapter on CPU.

Determinism comes from: the seed set before the head/LoRA initialisation, a data order drawn from a
generator seeded by the spec (never the global RNG), deterministic kernels, a fixed thread count and
eager attention.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from worker.errors import TrainingError
from worker.train.batches import Encoded, Example, collate, encode_records
from worker.train.determinism import deterministic, pick_device
from worker.train.modeling import LoadedModel, build_model, trainable_state
from worker.train.parent import load_parent_adapter
from worker.train.records import Record, Split, check_records, resolve_labels, split_positions
from worker.train.spec import TrainingSpec


@dataclass
class Prepared:
    """Records checked, labels fixed, split made and tokenised: everything a run consumes."""

    spec: TrainingSpec
    split: Split
    train: list[Example]
    validation: list[Example]
    truncated: int


@dataclass
class FitResult:
    epochs: list[dict[str, float]] = field(default_factory=list)
    checkpoints: list[dict[str, torch.Tensor]] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"


def finalize_spec(spec: TrainingSpec, records: Sequence[Record]) -> TrainingSpec:
    """Check the records against the task and fill the label list in (sorted labels seen if none given)."""
    check_records(records, spec.task)
    if spec.task == "classification":
        return spec.replace(labels=resolve_labels(records, spec.labels))
    return spec


def prepare(loaded: LoadedModel, records: Sequence[Record]) -> Prepared:
    spec = loaded.spec
    split = split_positions(records, spec.validation_fraction)
    encoded: Encoded = encode_records(records, loaded.tokenizer, spec.task, spec.labels, spec.max_length)
    if encoded.truncated and spec.strict_length:
        raise TrainingError(
            f"{len(encoded.truncated)} record(s) exceed max_length={spec.max_length} tokens "
            f"(first at position {encoded.truncated[0]}); raise max_length or drop strict_length"
        )
    examples = encoded.examples
    return Prepared(
        spec=spec,
        split=split,
        train=[examples[i] for i in split.train],
        validation=[examples[i] for i in split.validation],
        truncated=len(encoded.truncated),
    )


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """One epoch's batches of example positions, in the order `generator` draws (seeded by the spec)."""
    order = torch.randperm(n, generator=generator).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def evaluate(
    model: Any, examples: Sequence[Example], pad_id: int, device: torch.device, batch_size: int = 32
) -> dict[str, float]:
    """Mean loss (per example) and, for classification, accuracy."""
    if not examples:
        return {}
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        batch = _to(collate(chunk, pad_id), device)
        out = model(**batch)
        total_loss += float(out.loss) * len(chunk)
        if batch["labels"].dim() == 1:
            correct += int((out.logits.argmax(-1) == batch["labels"]).sum())
    result = {"val_loss": total_loss / len(examples)}
    if isinstance(examples[0].target, int):
        result["val_accuracy"] = correct / len(examples)
    return result


def make_optimizer(spec: TrainingSpec, model: Any) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if spec.optimizer == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=0.9, weight_decay=spec.weight_decay)
    return torch.optim.AdamW(
        params, lr=spec.lr, eps=spec.adam_epsilon, weight_decay=spec.weight_decay, foreach=False
    )


def fit(loaded: LoadedModel, data: Prepared, device: torch.device, progress: bool = False) -> FitResult:
    """The training loop proper; the model is trained in place."""
    spec, model = loaded.spec, loaded.model
    pad_id = loaded.tokenizer.pad_token_id
    model.to(device)
    optimizer = make_optimizer(spec, model)
    order_rng = torch.Generator().manual_seed(spec.seed)
    result = FitResult(device=str(device))
    started = time.perf_counter()
    steps = spec.epochs * math.ceil(len(data.train) / spec.batch_size)
    with tqdm(total=steps, disable=not progress, desc="fine-tuning", unit="step") as bar:
        for epoch in range(1, spec.epochs + 1):
            model.train()
            total = 0.0
            for indices in epoch_batches(len(data.train), spec.batch_size, order_rng):
                batch = _to(collate([data.train[i] for i in indices], pad_id), device)
                loss = model(**batch).loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(indices)
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{loss.item():.4f}")
            row = {"epoch": epoch, "train_loss": total / len(data.train)}
            row.update(evaluate(model, data.validation, pad_id, device))
            result.epochs.append(row)
            if spec.save_checkpoints:
                result.checkpoints.append({k: v.cpu() for k, v in trainable_state(model).items()})
    result.seconds = time.perf_counter() - started
    model.eval()
    return result


def train_in_memory(
    spec: TrainingSpec,
    records: Sequence[Record],
    device: str | None = None,
    progress: bool = False,
    parent_dir: Path | None = None,
) -> tuple[LoadedModel, Prepared, FitResult]:
    """Check, split, build and fit without writing anything (used by `train` and by benchmarks). A spec
    with `start_from` needs `parent_dir`, that bundle fetched and verified (worker/train/parent.py)."""
    spec = finalize_spec(spec, records)
    if spec.start_from and parent_dir is None:
        raise TrainingError(
            f"the spec starts from adapter {spec.start_from}: fetch that bundle and pass its directory"
        )
    if parent_dir is not None and not spec.start_from:
        raise TrainingError("a parent adapter was given but the spec does not name one in start_from")
    with deterministic(spec.seed, spec.cpu_threads):
        loaded = build_model(spec)
        if parent_dir is not None:
            load_parent_adapter(loaded.model, spec, parent_dir)
        data = prepare(loaded, records)
        if not data.train:
            raise TrainingError("no training records left after the validation split")
        result = fit(loaded, data, pick_device(device), progress)
    return loaded, data, result
