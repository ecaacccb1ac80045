"""Contributing a file of records to a Datanet, in an order where nothing is spent until it must be:

1. validate every line against the datanet's schema and limits (nothing uploaded, no gas);
2. refuse a file already submitted, or an account that cannot pay the stake;
3. look for exact and near duplicates of the records the datanet already accepted (their content is
   fetched and verified against the CIDs on-chain);
4. upload, then submit the CID with the stake.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.chain.types import ContributionStatus, Datanet
from worker.data import DuplicateIndex, ValidationReport, validate_file, validate_jsonl
from worker.data.manifest import DatasetManifest
from worker.data.metadata import DatanetMetadata
from worker.datanet.loading import load_version
from worker.datanet.state import accepted_contributions, fetch_metadata, require_datanet
from worker.errors import ChainError, DataError, StorageError
from worker.storage import CidMismatchError, ContentStore, compute_cid
from worker.units import OPEN

UPLOAD_CHUNK = 256 * 1024
Progress = Callable[[int], None]
_DEDUP_FAILED = "cannot check duplicates against accepted contribution"


class InvalidContributionError(DataError):
    """The file breaks the datanet's schema or limits; `report` lists every bad line."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(
            f"{report.render(max_errors=len(report.errors))}\n"
            "nothing was uploaded or sent: fix the lines above and run again"
        )


@dataclass(frozen=True)
class PreparedContribution:
    """A validated file, ready to upload: `cid` is computed locally in the datanet's CID profile."""

    datanet_id: int
    datanet: Datanet
    metadata: DatanetMetadata
    report: ValidationReport
    data: bytes
    cid: str

    @property
    def byte_size(self) -> int:
        return len(self.data)

    @property
    def record_count(self) -> int:
        return len(self.report.records)

    @property
    def stake(self) -> int:
        return self.datanet.policy.stake_per_contribution


@dataclass(frozen=True)
class DuplicateFinding:
    """Line `line` of the new file repeats record `matched_record` (1-based) of an accepted contribution."""

    line: int
    kind: Literal["exact", "near"]
    contribution_id: int
    matched_record: int
    similarity: float

    def render(self) -> str:
        how = "exact duplicate" if self.kind == "exact" else f"near duplicate ({self.similarity:.0%} similar)"
        return (
            f"line {self.line}: {how} of record {self.matched_record} of contribution #{self.contribution_id}"
        )


@dataclass(frozen=True)
class SubmittedContribution:
    contribution_id: int
    datanet_id: int
    cid: str
    byte_size: int
    record_count: int
    stake: int
    tx: TxResult


def prepare_contribution(
    client: ChainClient, store: ContentStore, datanet_id: int, path: str | os.PathLike[str]
) -> PreparedContribution:
    """Validate the file at `path` against the datanet's metadata; InvalidContributionError lists every
    bad line. The bytes validated are the bytes later uploaded: the file is read once."""
    datanet = require_datanet(client, datanet_id)
    metadata = fetch_metadata(store, datanet_id, datanet)
    path = Path(path)
    try:
        too_large = path.stat().st_size > metadata.limits.max_file_bytes
        if too_large:  # rejected without reading it
            raise InvalidContributionError(validate_file(path, metadata.record_schema(), metadata.limits))
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return _validated(datanet_id, datanet, metadata, data, str(path))


def prepare_contribution_data(
    client: ChainClient, store: ContentStore, datanet_id: int, data: bytes, source: str = "<data>"
) -> PreparedContribution:
    """`prepare_contribution` for records already in memory (JSON Lines bytes)."""
    datanet = require_datanet(client, datanet_id)
    return _validated(datanet_id, datanet, fetch_metadata(store, datanet_id, datanet), data, source)


def _validated(
    datanet_id: int, datanet: Datanet, metadata: DatanetMetadata, data: bytes, source: str
) -> PreparedContribution:
    report = validate_jsonl(data, metadata.record_schema(), metadata.limits, source=source)
    if not report.ok:
        raise InvalidContributionError(report)
    return PreparedContribution(
        datanet_id, datanet, metadata, report, data, compute_cid(data, metadata.profile())
    )


def check_submittable(client: ChainClient, prepared: PreparedContribution) -> None:
    """Refuse what the registry would revert: this account's own CID already in the datanet (someone
    else's copy of the CID does not block it: contributions are keyed by contributor and CID), a stake
    the account lacks."""
    registry = client.datanets
    existing = registry.contribution_id_by_cid(prepared.datanet_id, client.address, prepared.cid)
    if existing:
        status = registry.get_contribution(existing).status
        if status != ContributionStatus.WITHDRAWN:
            raise DataError(
                f"you already submitted this exact file ({prepared.cid}) as contribution #{existing} of "
                f"datanet {prepared.datanet_id} ({status.name.lower()}): each file is submitted once"
            )
    balance = client.token.balance_of(client.address)
    if balance < prepared.stake:
        raise ChainError(
            f"account {client.address} holds {balance / OPEN:g} OPEN but datanet "
            f"{prepared.datanet_id} asks a stake of {prepared.stake / OPEN:g} OPEN per "
            "contribution: get OPEN first, or contribute from another account"
        )


def accepted_duplicate_index(
    client: ChainClient, store: ContentStore, datanet_id: int, threshold: float = 0.8
) -> DuplicateIndex:
    """The records of every accepted contribution of the datanet, each file verified against its CID."""
    index = DuplicateIndex(threshold=threshold)
    for info in accepted_contributions(client, datanet_id):
        entry = info.entry()
        try:
            rows = load_version(DatasetManifest(datanet_id=datanet_id, contributions=[entry]), store)
        except StorageError as exc:
            raise StorageError(f"{_DEDUP_FAILED} #{entry.contribution_id}: {exc}") from exc
        except DataError as exc:
            raise DataError(f"{_DEDUP_FAILED} #{entry.contribution_id}: {exc}") from exc
        index.add(entry.contribution_id, [_text_fields(row.record) for row in rows])
    return index


def _text_fields(record: Mapping[str, object]) -> dict[str, str]:
    return {key: value for key, value in record.items() if isinstance(value, str)}


def find_duplicates(index: DuplicateIndex, prepared: PreparedContribution) -> list[DuplicateFinding]:
    lines = prepared.report.record_lines
    return [
        DuplicateFinding(lines[m.record_index], m.kind, m.contribution_id, m.matched_index + 1, m.similarity)
        for m in index.find(prepared.report.records)
    ]


def _chunks(data: bytes, progress: Progress | None) -> Iterator[bytes]:
    for start in range(0, len(data), UPLOAD_CHUNK):
        chunk = data[start : start + UPLOAD_CHUNK]
        yield chunk
        if progress is not None:
            progress(len(chunk))


def upload_and_submit(
    client: ChainClient,
    store: ContentStore,
    prepared: PreparedContribution,
    *,
    permit: bool = False,
    progress: Progress | None = None,
) -> SubmittedContribution:
    """Upload the validated bytes, then submit the CID with the stake (approve, or an EIP-2612 permit)."""
    cid = store.add(_chunks(prepared.data, progress))
    if cid != prepared.cid:
        raise CidMismatchError(
            prepared.cid,
            cid,
            store.location,
            "the store computes CIDs with another profile than the datanet's metadata",
        )
    registry = client.datanets
    submit = registry.contribute_with_permit if permit else registry.contribute
    tx = submit(prepared.datanet_id, cid, prepared.byte_size, prepared.record_count)
    if tx.created_id is None:
        raise ChainError(f"contribute (tx {tx.tx_hash}) emitted no ContributionSubmitted event")
    return SubmittedContribution(
        tx.created_id, prepared.datanet_id, cid, prepared.byte_size, prepared.record_count, prepared.stake, tx
    )
