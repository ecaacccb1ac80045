"""Curating a contribution: accept, or reject with a reason. The reason is a small canonical JSON document
on content storage; only its CID goes on-chain (so a reason of any length costs the same gas)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.canonical import canonical_json
from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.chain.types import Contribution, ContributionStatus
from worker.data import validate_jsonl
from worker.data.metadata import DatanetMetadata
from worker.datanet.state import fetch_metadata, require_contribution, require_datanet
from worker.errors import ChainError, DataError
from worker.storage import ContentStore, verified_fetch

REVIEW_FORMAT = "openledger.review/1"


@dataclass(frozen=True)
class ReviewResult:
    contribution_id: int
    datanet_id: int
    accepted: bool
    reason_cid: str
    slashed: int
    refunded: int
    tx: TxResult


def reason_document(
    contribution_id: int,
    contribution: Contribution,
    accept: bool,
    reviewer: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> bytes:
    document: dict[str, Any] = {
        "format": REVIEW_FORMAT,
        "datanet_id": contribution.datanet_id,
        "contribution_id": contribution_id,
        "content_cid": contribution.content_cid,
        "accepted": accept,
        "reviewer": reviewer,
        "reason": reason,
    }
    if details:
        document["details"] = details
    return canonical_json(document)


def check_content(
    store: ContentStore, contribution_id: int, contribution: Contribution, metadata: DatanetMetadata
) -> None:
    """The content behind the CID exists, hashes to it, validates, and has the size and record count the
    contributor declared on-chain (a version built from it must load back)."""
    where = f"contribution #{contribution_id} ({contribution.content_cid})"
    data = verified_fetch(store, contribution.content_cid, max_bytes=contribution.byte_size)
    if len(data) != contribution.byte_size:
        raise DataError(f"{where} is {len(data)} bytes but declares {contribution.byte_size}: reject it")
    report = validate_jsonl(data, metadata.record_schema(), metadata.limits, source=where)
    if not report.ok:
        raise DataError(f"{report.render()}\nreject it (or pass --no-check to accept anyway)")
    if len(report.records) != contribution.record_count:
        raise DataError(
            f"{where} holds {len(report.records)} records but declares {contribution.record_count}: reject it"
        )


def require_reviewable(client: ChainClient, contribution_id: int) -> Contribution:
    """The contribution, if the client's account may review it now (ChainError saying why not)."""
    contribution = require_contribution(client, contribution_id)
    datanet_id = contribution.datanet_id
    if not client.datanets.is_curator(datanet_id, client.address):
        raise ChainError(
            f"account {client.address} is not a curator of datanet {datanet_id}: the datanet "
            "owner appoints curators; review with a curator's account"
        )
    if contribution.status != ContributionStatus.PENDING:
        raise ChainError(
            f"contribution #{contribution_id} is {contribution.status.name.lower()}, not "
            "pending: it can be reviewed only once"
        )
    return contribution


def review_contribution(
    client: ChainClient,
    store: ContentStore,
    contribution_id: int,
    accept: bool,
    *,
    reason: str = "",
    details: dict[str, Any] | None = None,
    verify_content: bool = False,
) -> ReviewResult:
    """Review as the client's account, which must curate the contribution's datanet."""
    contribution = require_reviewable(client, contribution_id)
    datanet_id = contribution.datanet_id
    if accept and verify_content:
        check_content(
            store,
            contribution_id,
            contribution,
            fetch_metadata(store, datanet_id, require_datanet(client, datanet_id)),
        )
    reason_cid = ""
    if reason or details:
        reason_cid = store.add(
            reason_document(contribution_id, contribution, accept, client.address, reason, details)
        )
    tx = client.datanets.review(contribution_id, accept, reason_cid)
    event = tx.event("ContributionReviewed")
    return ReviewResult(
        contribution_id, datanet_id, accept, reason_cid, int(event["slashed"]), int(event["refunded"]), tx
    )
