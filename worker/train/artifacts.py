"""The trained-model directory: adapter safetensors plus the JSON that makes it replayable.

Layout (all written into a temporary sibling, then renamed, so a failed run leaves nothing behind):
  adapter_model.safetensors, adapter_config.json   peft adapter (LoRA + classifier head)
  spec.json          canonical TrainingSpec (labels filled in)
  metrics.json       per-epoch losses/accuracy, record counts, truncated records
  versions.json      python/torch/transformers/peft versions
  dataset.json       caller's dataset root (e.g. a Merkle root) and the record hashes of each split
  checkpoints/epoch-N.safetensors   trainable parameters after each epoch (for attribution ensembles)
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from worker.errors import TrainingError
from worker.train.spec import canonical_json

CHECKPOINT_DIR = "checkpoints"


def write_json(path: Path, value: Any) -> None:
    path.write_text(canonical_json(value) + "\n", encoding="utf-8")


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
    return json.loads((Path(model_dir) / "metrics.json").read_text())
