"""`train`: records + spec in, a complete trained-model directory out (or nothing at all on error)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from worker.train.artifacts import CHECKPOINT_DIR, save_adapter, staged_directory, write_json
from worker.train.determinism import library_versions
from worker.train.records import Record, record_hash
from worker.train.spec import TrainingSpec
from worker.train.trainer import FitResult, Prepared, train_in_memory

# Wall-clock figures differ run to run: they are returned to the caller but kept out of the model
# directory, whose bytes (and so whose CID) must be the same for anyone who replays the run.
VOLATILE_METRICS = ("seconds",)


@dataclass(frozen=True)
class TrainOutcome:
    out_dir: Path
    spec: TrainingSpec
    metrics: dict[str, Any]


def _metrics(data: Prepared, result: FitResult) -> dict[str, Any]:
    final = result.epochs[-1] if result.epochs else {}
    return {
        "epochs": result.epochs,
        "final": final,
        "train_records": len(data.train),
        "validation_records": len(data.validation),
        "truncated_records": data.truncated,
        "device": result.device,
        "seconds": round(result.seconds, 3),
    }


def _dataset(records: Sequence[Record], data: Prepared, dataset_root: str) -> dict[str, Any]:
    hashes = [record_hash(r) for r in records]
    return {
        "root": dataset_root,
        "records": len(records),
        "train": [hashes[i] for i in data.split.train],
        "validation": [hashes[i] for i in data.split.validation],
    }


def train(
    spec: TrainingSpec,
    records: Sequence[Record],
    out: str | Path,
    dataset_root: str = "",
    device: str | None = None,
    progress: bool = False,
    overwrite: bool = False,
    parent_dir: Path | None = None,
) -> TrainOutcome:
    """Fine-tune and write the model directory described in `worker.train.artifacts`; a derived model's
    spec (`start_from`) starts from the parent bundle at `parent_dir`."""
    loaded, data, result = train_in_memory(
        spec, records, device=device, progress=progress, parent_dir=parent_dir
    )
    metrics = _metrics(data, result)
    with staged_directory(out, overwrite=overwrite) as staging:
        save_adapter(loaded.model, staging, loaded.spec.base_model)
        write_json(staging / "spec.json", loaded.spec.to_dict())
        write_json(staging / "metrics.json", {k: v for k, v in metrics.items() if k not in VOLATILE_METRICS})
        write_json(staging / "versions.json", library_versions())
        write_json(staging / "dataset.json", _dataset(records, data, dataset_root))
        if result.checkpoints:
            (staging / CHECKPOINT_DIR).mkdir()
            for epoch, state in enumerate(result.checkpoints, start=1):
                save_file(state, str(staging / CHECKPOINT_DIR / f"epoch-{epoch}.safetensors"))
    return TrainOutcome(out_dir=Path(out), spec=loaded.spec, metrics=metrics)
