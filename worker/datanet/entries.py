"""Manifest entries checked against the chain: a published manifest is the Datanet owner's word, so an entry
is trusted only when DatanetRegistry.getContribution says the same (datanet, contributor, CID) and the
contribution was accepted. Whoever pays or trains from a manifest runs this first; an owner who lists
someone else's contribution under its own address (or a rejected one) is caught here.

Reads can be pinned to a block so that a later verifier, reading at the same block, reaches the same
verdict whatever happened on-chain since (a contribution still pending then may be accepted now).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.types import BlockIdentifier

from worker.chain.client import ChainClient
from worker.chain.types import Contribution, ContributionStatus
from worker.data.manifest import ContributionEntry, DatasetManifest


@dataclass(frozen=True)
class EntryMismatch:
    """A manifest entry that the chain contradicts, with every way it differs."""

    entry: ContributionEntry
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "contributionId": self.entry.contribution_id,
            "contributor": self.entry.contributor,
            "cid": self.entry.cid,
            "reasons": list(self.reasons),
        }


def entry_mismatches(entry: ContributionEntry, datanet_id: int, onchain: Contribution) -> tuple[str, ...]:
    """How the on-chain contribution differs from the manifest's entry (empty when they agree)."""
    reasons = []
    if onchain.datanet_id != datanet_id:
        reasons.append(f"belongs to datanet {onchain.datanet_id}")
    if onchain.contributor != entry.contributor:
        reasons.append(f"was contributed by {onchain.contributor}")
    if onchain.content_cid != entry.cid:
        reasons.append(f"has CID {onchain.content_cid}")
    if (onchain.byte_size, onchain.record_count) != (entry.byte_size, entry.record_count):
        reasons.append(f"has {onchain.byte_size} bytes and {onchain.record_count} records")
    if onchain.status != ContributionStatus.ACCEPTED:
        reasons.append(f"is {onchain.status.name.lower()}, not accepted")
    return tuple(reasons)


def verify_manifest_entries(
    client: ChainClient, manifest: DatasetManifest, block: BlockIdentifier = "latest"
) -> list[EntryMismatch]:
    """Every entry of `manifest` the chain (at `block`) contradicts; [] when all match."""
    functions = client.datanets.contract.functions
    count = int(functions.contributionCount().call(block_identifier=block))
    found = []
    for entry in manifest.contributions:
        if entry.contribution_id > count:
            found.append(EntryMismatch(entry, (f"does not exist (contributions: {count})",)))
            continue
        onchain = client.datanets.get_contribution(entry.contribution_id, block)
        reasons = entry_mismatches(entry, manifest.datanet_id, onchain)
        if reasons:
            found.append(EntryMismatch(entry, reasons))
    return found
