"""Publishing a version: the manifest lists every contribution the chain says is accepted (ids, contributors,
CIDs, sizes and record counts all read from the registry, never from local files), goes to content storage,
and its Merkle root and CID go on-chain in `publishVersion`."""

from __future__ import annotations

from dataclasses import dataclass

from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.data.manifest import DatasetManifest
from worker.data.metadata import DatanetMetadata
from worker.datanet.loading import load_version
from worker.datanet.state import accepted_contributions, fetch_metadata, require_datanet
from worker.errors import ChainError, DataError, StorageError
from worker.storage import ContentStore


@dataclass(frozen=True)
class PublishedVersion:
    datanet_id: int
    version_id: int
    manifest: DatasetManifest
    manifest_cid: str
    tx: TxResult

    @property
    def merkle_root(self) -> str:
        return self.manifest.merkle_root()


def manifest_from_chain(client: ChainClient, datanet_id: int, metadata: DatanetMetadata) -> DatasetManifest:
    """The manifest of the datanet's accepted contributions as they stand on-chain now."""
    entries = [info.entry() for info in accepted_contributions(client, datanet_id)]
    if not entries:
        raise DataError(
            f"datanet {datanet_id} has no accepted contribution yet: nothing to publish "
            "(a curator accepts with `openledger review ID accept`)"
        )
    return DatasetManifest(datanet_id=datanet_id, contributions=entries, cid_profile=metadata.cid_profile)


def prepare_version(
    client: ChainClient, store: ContentStore, datanet_id: int, *, verify: bool = True
) -> tuple[DatasetManifest, str]:
    """The next version's manifest and its CID (uploaded), if the client's account owns the datanet;
    what `publish_version` sends, and what a wallet signs in the explorer."""
    datanet = require_datanet(client, datanet_id)
    if datanet.owner != client.address:
        raise ChainError(
            f"account {client.address} does not own datanet {datanet_id} (owner "
            f"{datanet.owner}): only the owner publishes versions"
        )
    metadata = fetch_metadata(store, datanet_id, datanet)
    manifest = manifest_from_chain(client, datanet_id, metadata)
    if verify:
        _check_loadable(manifest, store, metadata)
    return manifest, store.add(manifest.canonical_json())


def publish_version(
    client: ChainClient, store: ContentStore, datanet_id: int, *, verify: bool = True
) -> PublishedVersion:
    """Build, upload and publish the next version, as the datanet owner.

    With `verify`, every contribution is first loaded back (verified fetch, schema, declared sizes and
    record counts), so a version never points at content nobody can read.
    """
    manifest, manifest_cid = prepare_version(client, store, datanet_id, verify=verify)
    root = manifest.merkle_root()
    tx = client.datanets.publish_version(
        datanet_id, bytes.fromhex(root[2:]), manifest_cid, manifest.record_count, manifest.contribution_count
    )
    if tx.created_id is None:
        raise ChainError(f"publishVersion (tx {tx.tx_hash}) emitted no VersionPublished event")
    return PublishedVersion(datanet_id, tx.created_id, manifest, manifest_cid, tx)


def _check_loadable(manifest: DatasetManifest, store: ContentStore, metadata: DatanetMetadata) -> None:
    where = f"cannot publish datanet {manifest.datanet_id}"
    try:
        load_version(manifest, store, metadata.record_schema(), metadata.limits)
    except StorageError as exc:
        raise StorageError(f"{where}: {exc}") from exc
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from exc
