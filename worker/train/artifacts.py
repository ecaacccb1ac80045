"""The trained-model directory: adapter safetensors plus the JSON that makes it replayable.

Layout (all written into a temporary sibling, then renamed, so a failed run leaves nothing behind):
  adapter_model.safetensors, adapter_config.json   peft adapter (LoRA + classifier head)
  spec.json          canonical TrainingSpec (labels filled in)
  metrics.json       per-epoch losses/accuracy, record counts, truncated records
  versions.json      python/torch/transformers/peft versions
  dataset.json       caller's dataset root (e.g. a Merkle root) and the record hashes of each split
  checkpoints/epoch-N.safetensors   trainable parameters after each epoch (for attribution ensembles)

Every byte depends on the spec, the records and the library versions only, never on the machine's paths
or the process: the directory's CID is what a verifier recomputes. So every JSON file is canonical, and
peft's adapter_config.json names the base model by the spec's name (not where it is installed) and lists
its module sets sorted (peft keeps them as sets, whose order follows PYTHONHASHSEED). peft's model card
(README.md) is not kept: it repeats the install path and holds nothing a replay needs.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from worker.canonical import canonical_json
from worker.errors import TrainingError
from worker.files import atomic_write

CHECKPOINT_DIR = "checkpoints"
ADAPTER_CONFIG = "adapter_config.json"
PEFT_MODEL_CARD = "README.md"
# adapter_config.json entries that peft holds as sets: any order means the same adapter, so we fix one.
SET_LIKE_KEYS = ("target_modules", "modules_to_save", "exclude_modules")


def write_json(path: Path, value: Any) -> None:
    atomic_write(path, canonical_json(value) + b"\n")


def portable_adapter_config(config: dict[str, Any], base_model: str) -> dict[str, Any]:
    """peft's adapter config made machine-independent: the base model by its spec name, sets sorted."""
    portable = dict(config, base_model_name_or_path=base_model)
    for key in SET_LIKE_KEYS:
        if isinstance(portable.get(key), list):
            portable[key] = sorted(portable[key])
    return portable


def save_adapter(model: Any, directory: Path, base_model: str) -> None:
    """Write a peft model's adapter (weights + config) into `directory`, in the portable form above."""
    model.save_pretrained(str(directory), safe_serialization=True)
    (directory / PEFT_MODEL_CARD).unlink(missing_ok=True)
    config_path = directory / ADAPTER_CONFIG
    write_json(config_path, portable_adapter_config(json.loads(config_path.read_bytes()), base_model))


@contextlib.contextmanager
def staged_directory(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory next to `out`; on success it replaces `out` in one rename."""
    out = Path(out)
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise TrainingError(f"output {out} already exists and is not empty; choose another path or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def checkpoint_paths(model_dir: str | Path) -> list[Path]:
    """Saved per-epoch checkpoints, in epoch order."""
    folder = Path(model_dir) / CHECKPOINT_DIR
    paths = list(folder.glob("epoch-*.safetensors")) if folder.is_dir() else []
    return sorted(paths, key=lambda p: int(p.stem.split("-")[1]))


def read_metrics(model_dir: str | Path) -> dict[str, Any]:
    metrics: dict[str, Any] = json.loads((Path(model_dir) / "metrics.json").read_text())
    return metrics
