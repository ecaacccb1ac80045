"""Datanet data: record schemas and validation, duplicate detection, metadata, version manifests,
loading a version back from content storage, deterministic train/validation splits."""

from worker.data.canonical import canonical_json
from worker.data.dedup import DuplicateIndex, DuplicateMatch, exact_key, normalize_text
from worker.data.loader import DatasetRecord, load_manifest, load_version
from worker.data.manifest import LEAF_ENCODING, ContributionEntry, DatasetManifest
from worker.data.metadata import DatanetMetadata
from worker.data.schema import RecordLimits, RecordSchema, record_text
from worker.data.split import Split, split_records, split_score
from worker.data.validate import LineError, ValidationReport, validate_file, validate_jsonl

__all__ = [
    "LEAF_ENCODING",
    "ContributionEntry",
    "DatanetMetadata",
    "DatasetManifest",
    "DatasetRecord",
    "DuplicateIndex",
    "DuplicateMatch",
    "LineError",
    "RecordLimits",
    "RecordSchema",
    "Split",
    "ValidationReport",
    "canonical_json",
    "exact_key",
    "load_manifest",
    "load_version",
    "normalize_text",
    "record_text",
    "split_records",
    "split_score",
    "validate_file",
    "validate_jsonl",
]
