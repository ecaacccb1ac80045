"""Datanet data: record schemas and validation, duplicate detection, deterministic train/validation
splits. Pure record rules: this package imports nothing above the bottom floor, so training and
attribution can use it without pulling in storage or Merkle code.

Formats that carry CIDs and Merkle roots live in their own modules and are imported from there:
`worker.data.manifest` (version manifests) and `worker.data.metadata` (Datanet metadata). Loading a
version back from content storage is `worker.datanet.loading`.
"""

from worker.data.dedup import DuplicateIndex, DuplicateMatch, exact_key, normalize_text
from worker.data.schema import ModelTask, RecordError, RecordLimits, RecordSchema, record_text
from worker.data.split import Split, split_records, split_score
from worker.data.validate import LineError, ValidationReport, validate_file, validate_jsonl

__all__ = [
    "DuplicateIndex",
    "DuplicateMatch",
    "LineError",
    "ModelTask",
    "RecordError",
    "RecordLimits",
    "RecordSchema",
    "Split",
    "ValidationReport",
    "exact_key",
    "normalize_text",
    "record_text",
    "split_records",
    "split_score",
    "validate_file",
    "validate_jsonl",
]
