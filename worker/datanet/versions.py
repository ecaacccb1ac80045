"""Reading a published version back from chain + content storage: the manifest (verified against its CID,
then against the Merkle root and counts the chain recorded), its records, or a verified export of its
files into a directory that appears only once everything checked out."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from worker.chain.client import ChainClient
from worker.chain.types import Version
from worker.data.manifest import DatasetManifest
from worker.datanet.entries import verify_manifest_entries
from worker.datanet.loading import DatasetRecord, load_version
from worker.datanet.state import fetch_metadata, require_datanet, root_hex
from worker.errors import ChainError, DataError, StorageError
from worker.storage import ContentNotFoundError, ContentStore, verified_fetch, verified_fetch_to_path

MANIFEST_FILE = "manifest.json"
Progress = Callable[[int], None]

MAX_MANIFEST_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class PublishedManifest:
    """A version as the chain records it, with its manifest (`manifest_bytes` hash to `manifest_cid`)."""

    datanet_id: int
    version_id: int
    version: Version
    manifest: DatasetManifest
    manifest_cid: str
    manifest_bytes: bytes

    @property
    def merkle_root(self) -> str:
        return root_hex(self.version.merkle_root)


@dataclass(frozen=True)
class ExportedVersion:
    published: PublishedManifest
    directory: Path
    files: list[Path]
    byte_count: int


def contribution_file_name(contribution_id: int) -> str:
    return f"contribution-{contribution_id}.jsonl"


def load_published_manifest(
    client: ChainClient, store: ContentStore, datanet_id: int, version_id: int, *, check_entries: bool = True
) -> PublishedManifest:
    """The version's manifest, verified against its CID, the root and counts the chain recorded and, unless
    `check_entries` is False, every entry against the registry (a bad entry refuses the whole version:
    nobody trains on it). A payout from a model already live passes False and excludes bad entries
    itself (`worker.rewards.eligibility`), paying the others."""
    require_datanet(client, datanet_id)
    count = client.datanets.version_count(datanet_id)
    if not 1 <= version_id <= count:
        existing = f"versions 1..{count}" if count else "no version yet"
        raise ChainError(
            f"datanet {datanet_id} has no version {version_id} ({existing}); "
            "the owner publishes with `openledger publish-version`"
        )
    version = client.datanets.get_version(datanet_id, version_id)
    try:
        data = verified_fetch(store, version.manifest_cid, max_bytes=MAX_MANIFEST_BYTES)
    except ContentNotFoundError as exc:
        raise StorageError(
            f"the manifest of datanet {datanet_id} version {version_id} "
            f"({version.manifest_cid}) is not in the {store.location}: set IPFS_API to a "
            "node that has it"
        ) from exc
    published = PublishedManifest(
        datanet_id, version_id, version, DatasetManifest.from_json(data), version.manifest_cid, data
    )
    check_against_chain(published)
    if check_entries:
        check_entries_against_registry(client, published)
    return published


def check_against_chain(published: PublishedManifest) -> None:
    """The manifest is the one the version committed to: same datanet, same Merkle root, same counts."""
    manifest, version = published.manifest, published.version
    where = f"manifest {published.manifest_cid} of datanet {published.datanet_id} v{published.version_id}"
    if manifest.datanet_id != published.datanet_id:
        raise DataError(f"{where} describes datanet {manifest.datanet_id}: wrong manifest for this version")
    if manifest.merkle_root().lower() != published.merkle_root.lower():
        raise DataError(
            f"{where} has Merkle root {manifest.merkle_root()} but the chain recorded "
            f"{published.merkle_root}: the version is inconsistent, do not use it"
        )
    if (manifest.record_count, manifest.contribution_count) != (
        version.record_count,
        version.contribution_count,
    ):
        raise DataError(
            f"{where} lists {manifest.contribution_count} contributions / {manifest.record_count} "
            f"records but the chain recorded {version.contribution_count} / {version.record_count}"
        )


class ManifestEntryMismatch(DataError):
    """A manifest entry disagrees with the registry's contribution of the same id: the version is unusable
    (training on it, or paying from it, would credit someone other than the contributor)."""


def check_entries_against_registry(client: ChainClient, published: PublishedManifest) -> None:
    """Every entry is the Accepted on-chain contribution it names (`worker.datanet.entries`). The version's
    root only proves the datanet owner published this manifest; the registry is what stops an owner from
    listing someone else's file under its own address and redirecting that contributor's payouts."""
    mismatches = verify_manifest_entries(client, published.manifest)
    if not mismatches:
        return
    first = mismatches[0]
    where = f"manifest {published.manifest_cid} of datanet {published.datanet_id} v{published.version_id}"
    more = f" (and {len(mismatches) - 1} more entries)" if len(mismatches) > 1 else ""
    raise ManifestEntryMismatch(
        f"{where} lists contribution #{first.entry.contribution_id} under {first.entry.contributor} but "
        f"on-chain it {'; '.join(first.reasons)}{more}: the version does not match the registry, do not "
        "train on it or pay from it"
    )


def load_published_version(
    client: ChainClient, store: ContentStore, datanet_id: int, version_id: int, *, validate: bool = True
) -> tuple[PublishedManifest, list[DatasetRecord]]:
    """Every record of the version (manifest order), each file verified against its CID; with `validate`
    also against the datanet's schema and limits."""
    published = load_published_manifest(client, store, datanet_id, version_id)
    schema = limits = None
    if validate:
        metadata = fetch_metadata(store, datanet_id, client.datanets.get_datanet(datanet_id))
        schema, limits = metadata.record_schema(), metadata.limits
    records = load_version(published.manifest, store, schema, limits, expected_root=published.merkle_root)
    return published, records


def export_version(
    store: ContentStore,
    published: PublishedManifest,
    directory: str | os.PathLike[str],
    progress: Progress | None = None,
) -> ExportedVersion:
    """Download every contribution of a version (from `load_published_manifest`, which checked it
    against the chain) plus `manifest.json` into `directory`.

    Files land in a hidden sibling folder first; `directory` appears (or an empty one is filled) only
    once every file hashed to its CID, so a failure leaves no partial export behind.
    """
    target = Path(directory)
    _check_target(target)
    datanet_id, version_id = published.datanet_id, published.version_id
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        try:
            files, total = _download(store, published, staging, progress)
        except StorageError as exc:
            raise StorageError(
                f"export of datanet {datanet_id} v{version_id} stopped, nothing was written to "
                f"{target}: {exc}"
            ) from exc
        (staging / MANIFEST_FILE).write_bytes(published.manifest_bytes)
        staging.chmod(0o755)
        if target.exists():
            target.rmdir()  # empty (checked above): the rename takes its place
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportedVersion(
        published, target, [target / f.name for f in files] + [target / MANIFEST_FILE], total
    )


def _check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise DataError(f"{target} exists and is not a directory: export into a new or empty directory")
    if target.is_dir() and any(target.iterdir()):
        raise DataError(f"{target} is not empty: export into a new or empty directory")


def _download(
    store: ContentStore, published: PublishedManifest, staging: Path, progress: Progress | None
) -> tuple[list[Path], int]:
    files, total = [], 0
    for entry in published.manifest.contributions:
        path = verified_fetch_to_path(
            store,
            entry.cid,
            staging / contribution_file_name(entry.contribution_id),
            max_bytes=entry.byte_size,
        )
        path.chmod(0o644)  # downloads start private (temp files); an export is ordinary data
        size = path.stat().st_size
        if size != entry.byte_size:
            raise DataError(
                f"contribution #{entry.contribution_id} ({entry.cid}) is {size} bytes, the "
                f"manifest says {entry.byte_size}"
            )
        files.append(path)
        total += size
        if progress is not None:
            progress(size)
    return files, total
