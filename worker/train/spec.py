"""The training spec: every choice that determines the adapter bits, saved as canonical JSON.

The spec is what a model owner registers on-chain (by hash) and what a verifier replays, so it holds
hyper-parameters and the seed but nothing about the machine (device, paths of outputs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from worker.canonical import canonical_json
from worker.data.schema import MODEL_TASKS, ModelTask
from worker.errors import TrainingError

OPTIMIZERS: tuple[str, ...] = ("adamw", "sgd")

# AdamW's epsilon. With torch's 1e-8 the first steps of a LoRA run are nearly sign(gradient): a tiny
# gradient gets a full-size step, so the adapter answers the removal of a record non-linearly and the
# exact replay's first-order prediction of it (worker/attribution/replay.py) misses. 1e-5 is
# comparable to a LoRA gradient's size, which keeps the steps proportional to the gradient there; how it
# was chosen, and what it costs in training, is in docs/BENCHMARKS.md ("Model-level replay").
ADAM_EPSILON = 1e-5
# What every spec trained with before the field existed: such a spec reads as this, and a spec with
# this value leaves the field out of its JSON, so registered specs keep their bytes (and hashes).
LEGACY_ADAM_EPSILON = 1e-8


@dataclass(frozen=True)
class TrainingSpec:
    base_model: str
    task: ModelTask = "classification"
    labels: tuple[str, ...] = ()
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    # Empty means "the attention query/value projections of this architecture" (see catalogue).
    target_modules: tuple[str, ...] = ()
    optimizer: str = "adamw"
    lr: float = 1e-3
    adam_epsilon: float = ADAM_EPSILON  # AdamW only
    weight_decay: float = 0.0
    epochs: int = 3
    batch_size: int = 16
    max_length: int = 128
    seed: int = 0
    validation_fraction: float = 0.1
    # Over-long records are truncated and counted in metrics.json; strict turns them into an error.
    strict_length: bool = False
    # Bit-identical results need the same intra-op thread count on every machine that replays the run.
    cpu_threads: int = 1
    # Trainable-parameter snapshots after each epoch, used by attribution to ensemble over checkpoints.
    save_checkpoints: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    # A derived model's parent adapter bundle (CID): training starts from its weights (train/parent.py).
    # Left out of the JSON when empty, so specs from scratch keep their bytes (and CIDs).
    start_from: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(str(x) for x in self.labels))
        object.__setattr__(self, "target_modules", tuple(self.target_modules))
        validate_spec(self)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["labels"] = list(self.labels)
        data["target_modules"] = list(self.target_modules)
        if not self.start_from:
            del data["start_from"]
        if self.adam_epsilon == LEGACY_ADAM_EPSILON:
            del data["adam_epsilon"]
        return data

    def to_json(self) -> str:
        return canonical_json(self.to_dict()).decode("utf-8")

    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()

    def replace(self, **changes: Any) -> TrainingSpec:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(
                f"training spec has unknown field(s) {unknown}; known fields: {sorted(known)}"
            )
        if "base_model" not in data:
            raise TrainingError("training spec needs 'base_model' (e.g. 'minilm' or a local model directory)")
        return cls(**{"adam_epsilon": LEGACY_ADAM_EPSILON, **data})

    @classmethod
    def from_json(cls, text: str) -> TrainingSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TrainingError(f"training spec is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise TrainingError("training spec must be a JSON object")
        return cls.from_dict(data)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise TrainingError(f"bad training spec: {message}")


def validate_spec(spec: TrainingSpec) -> None:
    """Reject specs that cannot train, naming the field and the accepted range."""
    _check(bool(spec.base_model), "base_model is empty; use 'minilm', 'smollm2-135m' or a model directory")
    _check(spec.task in MODEL_TASKS, f"task {spec.task!r} is not one of {list(MODEL_TASKS)}")
    _check(spec.optimizer in OPTIMIZERS, f"optimizer {spec.optimizer!r} is not one of {list(OPTIMIZERS)}")
    _check(spec.lora_r >= 1, f"lora_r must be >= 1 (got {spec.lora_r})")
    _check(spec.lora_alpha >= 1, f"lora_alpha must be >= 1 (got {spec.lora_alpha})")
    _check(0.0 <= spec.lora_dropout < 1.0, f"lora_dropout must be in [0, 1) (got {spec.lora_dropout})")
    _check(spec.lr > 0, f"lr must be > 0 (got {spec.lr})")
    _check(
        isinstance(spec.adam_epsilon, int | float) and 0 < spec.adam_epsilon < 1,
        f"adam_epsilon must be in (0, 1) (got {spec.adam_epsilon})",
    )
    _check(spec.weight_decay >= 0, f"weight_decay must be >= 0 (got {spec.weight_decay})")
    _check(spec.epochs >= 1, f"epochs must be >= 1 (got {spec.epochs})")
    _check(spec.batch_size >= 1, f"batch_size must be >= 1 (got {spec.batch_size})")
    _check(spec.max_length >= 4, f"max_length must be >= 4 tokens (got {spec.max_length})")
    _check(
        0.0 <= spec.validation_fraction < 1.0,
        f"validation_fraction must be in [0, 1) (got {spec.validation_fraction})",
    )
    _check(isinstance(spec.start_from, str), "start_from must be an adapter bundle CID (a string)")
    _check(spec.cpu_threads >= 1, f"cpu_threads must be >= 1 (got {spec.cpu_threads})")
    if spec.task == "classification" and spec.labels:
        _check(len(set(spec.labels)) == len(spec.labels), f"labels contain duplicates: {list(spec.labels)}")
        _check(len(spec.labels) >= 2, f"classification needs at least 2 labels (got {list(spec.labels)})")
