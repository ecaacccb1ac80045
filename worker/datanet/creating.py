"""Creating a Datanet: its metadata (schema, labels, licence, limits, CID profile) goes to content storage
as canonical JSON, and its CID goes on-chain with the contribution policy and the curators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from eth_typing import ChecksumAddress
from eth_utils.address import is_address, to_checksum_address
from pydantic import ValidationError

from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.chain.types import Policy
from worker.data import RecordLimits
from worker.data.metadata import DatanetMetadata, describe_errors
from worker.data.schema import ModelTask
from worker.errors import ChainError, DataError
from worker.storage import ContentStore

MAX_BPS = 10_000


@dataclass(frozen=True)
class CreatedDatanet:
    datanet_id: int
    metadata_cid: str
    metadata: DatanetMetadata
    owner: str
    treasury: str
    policy: Policy
    curators: tuple[str, ...]
    tx: TxResult


def build_metadata(
    *,
    name: str,
    task: str,
    labels: Sequence[str],
    licence: str,
    description: str = "",
    limits: RecordLimits | None = None,
) -> DatanetMetadata:
    """Metadata for a new datanet; DataError naming each bad field otherwise."""
    try:
        return DatanetMetadata(
            name=name,
            task=cast(ModelTask, task),  # any string: pydantic validates it (DataError below)
            labels=list(labels),
            licence=licence,
            description=description,
            limits=limits or RecordLimits(),
        )
    except ValidationError as exc:
        raise DataError(f"invalid Datanet metadata: {describe_errors(exc)}") from exc


def checked_address(value: str, what: str) -> ChecksumAddress:
    if not is_address(value):
        raise DataError(f"{what} {value!r} is not an Ethereum address (0x followed by 40 hex digits)")
    return to_checksum_address(value)


def check_policy(client: ChainClient, policy: Policy) -> None:
    """The contract's own rules, checked before anything is uploaded or sent."""
    if policy.stake_per_contribution < 0:
        raise DataError("the stake per contribution cannot be negative")
    if not 0 <= policy.slash_bps <= MAX_BPS:
        raise DataError(f"slash bps must be between 0 and {MAX_BPS} (100 %), got {policy.slash_bps}")
    longest = client.datanets.max_review_period()
    if not 0 <= policy.review_period <= longest:
        raise DataError(
            f"review period {policy.review_period} s is outside 0..{longest} s "
            "(the protocol's maximum, set by governance)"
        )


def prepare_datanet(
    client: ChainClient,
    store: ContentStore,
    metadata: DatanetMetadata,
    policy: Policy,
    curators: Sequence[str],
    treasury: str | None = None,
) -> tuple[str, ChecksumAddress, tuple[ChecksumAddress, ...]]:
    """Check the arguments as the contract would and upload the metadata: (metadata CID, treasury,
    curators), what `createDatanet` takes (sent here by `create_datanet`, or signed in a wallet)."""
    curator_addresses = tuple(checked_address(c, "curator") for c in curators)
    treasury_address = checked_address(treasury, "treasury") if treasury else client.address
    check_policy(client, policy)
    return store.add(metadata.canonical_json()), treasury_address, curator_addresses


def create_datanet(
    client: ChainClient,
    store: ContentStore,
    metadata: DatanetMetadata,
    policy: Policy,
    curators: Sequence[str],
    treasury: str | None = None,
) -> CreatedDatanet:
    """Upload the metadata and create the datanet, owned by the client's account."""
    metadata_cid, treasury_address, curator_addresses = prepare_datanet(
        client, store, metadata, policy, curators, treasury
    )
    tx = client.datanets.create_datanet(metadata_cid, treasury_address, policy, curator_addresses)
    if tx.created_id is None:
        raise ChainError(f"createDatanet (tx {tx.tx_hash}) emitted no DatanetCreated event")
    return CreatedDatanet(
        tx.created_id, metadata_cid, metadata, client.address, treasury_address, policy, curator_addresses, tx
    )
