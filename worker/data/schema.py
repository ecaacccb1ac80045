"""Record schemas of a Datanet and the limits every contributed file must respect.

classification: {"text": str, "label": str}, label from the Datanet's declared label set
generation:     {"prompt": str, "completion": str} or {"text": str}
Any record may also carry "contributor" (a string; provenance, not content).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from worker.errors import DataError

ModelTask = Literal["classification", "generation"]  # what a Datanet's records (and its models) are for
MODEL_TASKS: tuple[ModelTask, ...] = ("classification", "generation")
OPTIONAL_FIELDS = ("contributor",)
SHAPES: dict[str, tuple[tuple[str, ...], ...]] = {
    "classification": (("text", "label"),),
    "generation": (("prompt", "completion"), ("text",)),
}
TEXT_FIELDS = ("text", "prompt", "completion")


@dataclass(frozen=True)
class RecordLimits:
    max_file_bytes: int = 16 * 1024 * 1024
    max_records: int = 50_000
    max_record_chars: int = 4_000

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_records", "max_record_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise DataError(f"record limit {name} must be a positive integer, got {value!r}")


class RecordError(DataError):
    """One record breaks the schema; `code` is stable (for scripts), `message` says what to fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RecordSchema:
    task: ModelTask
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.task not in MODEL_TASKS:
            raise DataError(f"unknown task {self.task!r}: use one of {', '.join(MODEL_TASKS)}")
        if self.task == "classification":
            if not self.labels or any(not isinstance(x, str) or not x.strip() for x in self.labels):
                raise DataError("a classification Datanet needs a non-empty set of non-empty string labels")
            if len(set(self.labels)) != len(self.labels):
                raise DataError(f"labels must be unique, got {list(self.labels)}")
        elif self.labels:
            raise DataError("a generation Datanet has no labels: remove them or use task 'classification'")

    def check(self, value: Any, limits: RecordLimits) -> dict[str, str]:
        """The record as a plain dict if it fits the schema, else RecordError naming the first problem."""
        if not isinstance(value, dict):
            raise RecordError("not_object", f"a record must be a JSON object, got {_json_type(value)}")
        fields = self._shape(value)
        for name in (*fields, *OPTIONAL_FIELDS):
            if name in value and not isinstance(value[name], str):
                got = _json_type(value[name])
                raise RecordError("wrong_type", f"field {name!r} must be a string, got {got}")
        for name in fields:
            if name in TEXT_FIELDS and not value[name].strip():
                raise RecordError("empty_text", f"field {name!r} is empty")
        if self.task == "classification" and value["label"] not in self.labels:
            labels = list(self.labels)
            raise RecordError("unknown_label", f"label {value['label']!r} is not one of the labels {labels}")
        chars = sum(len(value[name]) for name in fields)
        if chars > limits.max_record_chars:
            limit = limits.max_record_chars
            raise RecordError("too_long", f"record has {chars} characters, the limit is {limit}")
        return {name: value[name] for name in (*fields, *OPTIONAL_FIELDS) if name in value}

    def _shape(self, value: Mapping[str, Any]) -> tuple[str, ...]:
        shapes = SHAPES[self.task]
        allowed = {name for shape in shapes for name in shape} | set(OPTIONAL_FIELDS)
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise RecordError("unknown_field", f"unknown field(s) {unknown}; allowed: {sorted(allowed)}")
        present = [shape for shape in shapes if any(name in value for name in shape)]
        if len(present) > 1:
            raise RecordError("ambiguous_shape",
                              "a generation record has either prompt+completion or text, not both")
        shape = present[0] if present else shapes[0]
        missing = [name for name in shape if name not in value]
        if missing:
            expected = " or ".join("{" + ", ".join(s) + "}" for s in shapes)
            raise RecordError("missing_field",
                              f"missing field(s) {missing}; a {self.task} record is {expected}")
        return shape


def record_text(record: Mapping[str, str]) -> str:
    """The content that makes two records "the same" (dedup, duplicate check): the text fields, not labels."""
    if "prompt" in record:
        return f"{record['prompt']}\n{record.get('completion', '')}"
    return record.get("text", "")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else type(value).__name__
