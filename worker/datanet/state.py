"""What the chain says about a Datanet: its record, its metadata (read from content storage, verified),
its contributions and its versions. Read-only; an unknown id fails with a message naming it."""

from __future__ import annotations

from dataclasses import dataclass

from web3.exceptions import Web3Exception

from worker.chain.client import ChainClient
from worker.chain.types import Contribution, ContributionStatus, Datanet, Version
from worker.data.manifest import ContributionEntry
from worker.data.metadata import DatanetMetadata
from worker.errors import ChainError, StorageError
from worker.storage import ContentNotFoundError, ContentStore, verified_fetch

MAX_METADATA_BYTES = 1 << 20
LIST_HINT = "`openledger datanet list` shows the datanets of this deployment"


@dataclass(frozen=True)
class ContributionInfo:
    contribution_id: int
    contribution: Contribution

    def entry(self) -> ContributionEntry:
        """The manifest line of this contribution (what a version's Merkle leaf commits to)."""
        c = self.contribution
        return ContributionEntry(
            contribution_id=self.contribution_id,
            contributor=c.contributor,
            cid=c.content_cid,
            record_count=c.record_count,
            byte_size=c.byte_size,
        )


@dataclass(frozen=True)
class VersionInfo:
    version_id: int
    version: Version

    @property
    def merkle_root(self) -> str:
        return root_hex(self.version.merkle_root)


def root_hex(root: bytes) -> str:
    return "0x" + bytes(root).hex()


def require_datanet(client: ChainClient, datanet_id: int) -> Datanet:
    count = client.datanets.datanet_count()
    if not 1 <= datanet_id <= count:
        raise ChainError(
            f"datanet {datanet_id} does not exist on chain {client.sender.chain_id} "
            f"(this deployment has {count} datanet(s)); {LIST_HINT}"
        )
    return client.datanets.get_datanet(datanet_id)


def require_contribution(client: ChainClient, contribution_id: int) -> Contribution:
    count = client.datanets.contribution_count()
    if not 1 <= contribution_id <= count:
        raise ChainError(
            f"contribution #{contribution_id} does not exist on chain {client.sender.chain_id} "
            f"(contributions so far: {count}); `openledger datanet show ID` lists a datanet's"
        )
    return client.datanets.get_contribution(contribution_id)


def fetch_metadata(store: ContentStore, datanet_id: int, datanet: Datanet) -> DatanetMetadata:
    """The datanet's metadata from content storage, only if its bytes hash to the CID on-chain."""
    return fetch_metadata_cid(store, datanet_id, datanet.metadata_cid)


def fetch_metadata_cid(store: ContentStore, datanet_id: int, metadata_cid: str) -> DatanetMetadata:
    """`fetch_metadata` for a metadata CID read from the datanet's `DatanetCreated` event (the explorer)."""
    try:
        data = verified_fetch(store, metadata_cid, max_bytes=MAX_METADATA_BYTES)
    except ContentNotFoundError as exc:
        raise StorageError(
            f"the metadata of datanet {datanet_id} ({metadata_cid}) is not in the "
            f"{store.location}: set IPFS_API to a node that has it, or `openledger ipfs add` "
            "the metadata file"
        ) from exc
    return DatanetMetadata.from_json(data)


def datanet_contributions(
    client: ChainClient, datanet_id: int, datanet: Datanet | None = None
) -> list[ContributionInfo]:
    """Every contribution ever submitted to the datanet, by id, with its current on-chain state.

    Ids come from ContributionSubmitted logs (filtered by the indexed datanet id); a node that prunes or
    limits logs (the count disagrees with the datanet's own counter) falls back to reading every id.
    """
    datanet = datanet or require_datanet(client, datanet_id)
    ids = _submitted_ids(client, datanet_id)
    if ids is None or len(ids) != datanet.contribution_count:
        total = client.datanets.contribution_count()
        ids = [i for i in range(1, total + 1) if client.datanets.get_contribution(i).datanet_id == datanet_id]
    return [ContributionInfo(i, client.datanets.get_contribution(i)) for i in sorted(ids)]


def _submitted_ids(client: ChainClient, datanet_id: int) -> list[int] | None:
    try:
        events = client.datanets.get_events("ContributionSubmitted", 0, "latest", None, datanet_id)
    except (Web3Exception, ValueError):  # a provider refusing the range: the caller scans instead
        return None
    return sorted({int(e["contributionId"]) for e in events})


def accepted_contributions(
    client: ChainClient, datanet_id: int, datanet: Datanet | None = None
) -> list[ContributionInfo]:
    return [
        info
        for info in datanet_contributions(client, datanet_id, datanet)
        if info.contribution.status == ContributionStatus.ACCEPTED
    ]


def datanet_versions(client: ChainClient, datanet_id: int) -> list[VersionInfo]:
    count = client.datanets.version_count(datanet_id)
    return [VersionInfo(v, client.datanets.get_version(datanet_id, v)) for v in range(1, count + 1)]
