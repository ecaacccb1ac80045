"""Training records: reading JSONL, checking them against the task, and the deterministic split.

Classification records are {"text", "label"}; generation records are {"prompt", "completion"} or
{"text"}. Any record may carry "contributor" (an address or name) and "contribution" (e.g. the CID of
the file it came from); these travel to attribution and are never fed to the model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.canonical import canonical_json
from worker.data.split import split_records
from worker.errors import DataError, TrainingError

Record = dict[str, Any]


def read_jsonl(path: str | Path) -> list[Record]:
    """Read one JSON object per line; blank lines are skipped, anything else is an error with its line."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"records file {path} does not exist")
    records: list[Record] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TrainingError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(value, dict):
                raise TrainingError(f"{path}:{number}: each line must be a JSON object")
            records.append(value)
    return records


def record_hash(record: Record) -> str:
    """sha256 of the canonical JSON of the record: its identity for splits and attribution reports."""
    return hashlib.sha256(canonical_json(record)).hexdigest()


def _text_field(record: Record, key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise TrainingError(f"{where}: field {key!r} must be a string (got {type(value).__name__})")
    return value


def check_records(records: Sequence[Record], task: str) -> None:
    """Every record has the fields its task needs, as strings; an empty dataset is an error."""
    if not records:
        raise TrainingError("the dataset is empty: give at least a few records to train on")
    for i, record in enumerate(records):
        where = f"record {i}"
        if task == "classification":
            _text_field(record, "text", where)
            if "label" not in record or isinstance(record["label"], (dict, list)) or record["label"] is None:
                raise TrainingError(f"{where}: classification records need a scalar 'label'")
        elif "text" in record and "prompt" not in record:
            _text_field(record, "text", where)
        else:
            _text_field(record, "prompt", where)
            _text_field(record, "completion", where)


def resolve_labels(records: Iterable[Record], declared: Sequence[str]) -> tuple[str, ...]:
    """The label list: the declared one (every record label must be in it) or the sorted set seen."""
    seen = sorted({str(r["label"]) for r in records})
    if declared:
        unknown = [label for label in seen if label not in declared]
        if unknown:
            raise TrainingError(f"records use label(s) {unknown} not in the spec's labels {list(declared)}")
        labels = tuple(declared)
    else:
        labels = tuple(seen)
    if len(seen) < 2:
        raise TrainingError(
            f"the dataset has a single class {seen}: classification needs records of at least 2 labels"
        )
    return labels


@dataclass(frozen=True)
class Split:
    train: list[int]  # positions in the input, in input order
    validation: list[int]


@dataclass(frozen=True)
class _Positioned:
    """A record and its position: worker.data.split reads `.record` for content, `.index` to break ties."""

    record: Record
    index: int


def split_positions(records: Sequence[Record], validation_fraction: float) -> Split:
    """The Datanet split (worker.data.split, seed 0) as positions, each side kept in input order.

    A record's side depends only on its content ("contributor" excluded, so identical texts from two
    contributors land together), so adding records never moves existing ones across; with a positive
    fraction and at least two records, the lowest-scoring record is kept for validation even when none
    falls below the threshold. Training order stays the input order (the trainer shuffles by its seed).
    """
    try:
        sides = split_records([_Positioned(r, i) for i, r in enumerate(records)], validation_fraction)
    except DataError as exc:
        raise TrainingError(str(exc)) from exc
    if records and not sides.train:
        raise TrainingError("the validation split took every record; lower validation_fraction")
    return Split(
        train=sorted(p.index for p in sides.train), validation=sorted(p.index for p in sides.validation)
    )
