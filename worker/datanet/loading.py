"""Loading a dataset version back from content storage (chain-free: the caller brings the manifest, and the
root read from `getVersion` if it wants it checked).

Every contribution is read through `verified_fetch` (its bytes must hash to the CID in the manifest),
then checked against the size and record count the manifest (and so the chain) recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.data.manifest import ContributionEntry, DatasetManifest
from worker.data.schema import RecordError, RecordLimits, RecordSchema
from worker.data.validate import iter_lines, parse_line, validate_jsonl
from worker.errors import DataError
from worker.storage.protocol import ContentStore
from worker.storage.verify import verified_fetch


@dataclass(frozen=True)
class DatasetRecord:
    """One record with its provenance: which contribution, whose, and its position in that file."""

    contribution_id: int
    contributor: str
    index: int
    record: dict[str, str]


def load_version(manifest: DatasetManifest, store: ContentStore, schema: RecordSchema | None = None,
                 limits: RecordLimits | None = None, expected_root: str | None = None) -> list[DatasetRecord]:
    """All records of the version, in manifest order (contribution id, then line order).

    With `schema`, each file is validated as at contribution time (an accepted file that no longer
    validates raises DataError); without, each non-blank line must be a JSON object.
    """
    root = manifest.merkle_root()
    if expected_root is not None and root.lower() != expected_root.lower():
        raise DataError(f"manifest of datanet {manifest.datanet_id} has Merkle root {root}, but the "
                        f"version published {expected_root}: wrong manifest for this version")
    records: list[DatasetRecord] = []
    for entry in manifest.contributions:
        for index, record in enumerate(_contribution_records(entry, store, schema, limits)):
            records.append(DatasetRecord(entry.contribution_id, entry.contributor, index, record))
    return records


def _contribution_records(entry: ContributionEntry, store: ContentStore, schema: RecordSchema | None,
                          limits: RecordLimits | None) -> list[dict[str, str]]:
    data = verified_fetch(store, entry.cid, max_bytes=entry.byte_size)
    where = f"contribution {entry.contribution_id} ({entry.cid})"
    if len(data) != entry.byte_size:
        raise DataError(f"{where} is {len(data)} bytes, the manifest says {entry.byte_size}")
    records = _parse(data, where, schema, limits)
    if len(records) != entry.record_count:
        raise DataError(f"{where} holds {len(records)} records, the manifest says {entry.record_count}")
    return records


def _parse(data: bytes, where: str, schema: RecordSchema | None,
           limits: RecordLimits | None) -> list[dict[str, str]]:
    if schema is not None:
        report = validate_jsonl(data, schema, limits, source=where)
        if not report.ok:
            raise DataError(f"{where} no longer validates:\n{report.render(max_errors=5)}")
        return report.records
    records = []
    for number, raw in iter_lines(data):
        try:
            value = parse_line(raw)
        except RecordError as exc:
            raise DataError(f"{where}, line {number}: {exc.message}") from exc
        if not isinstance(value, dict):
            raise DataError(f"{where}, line {number}: a record must be a JSON object")
        records.append(value)
    return records
