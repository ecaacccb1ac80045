"""Who an epoch may pay: the contributors of the model's Datanet version whose manifest entries the chain
confirms (datanet, contributor, CID, accepted), read at one block recorded in the epoch report.

The rule is per address: an address named by any entry the chain contradicts is paid nothing from the
epoch, and an address in no entry at all is never paid. Receipts carry weights per contributor, not per
contribution, so a share cannot be split between a good and a bad entry of the same address; refusing
the whole address means listing someone else's contribution under your name never pays. The shares not
paid stay in the model's pool (`available`), as rounding dust does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_utils.address import to_checksum_address

from worker.chain.client import ChainClient
from worker.chain.types import Model, from_abi
from worker.datanet.entries import verify_manifest_entries
from worker.datanet.versions import load_published_manifest
from worker.errors import OpenLedgerError
from worker.rewards.errors import RewardsError
from worker.storage import ContentStore


@dataclass(frozen=True)
class ExcludedEntry:
    contribution_id: int
    contributor: str
    cid: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "contributionId": self.contribution_id,
            "contributor": self.contributor,
            "cid": self.cid,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExcludedEntry:
        return cls(
            int(data["contributionId"]),
            to_checksum_address(data["contributor"]),
            str(data["cid"]),
            tuple(str(r) for r in data["reasons"]),
        )


@dataclass(frozen=True)
class ManifestCheck:
    """The verdict on a model's manifest at `block`: the entries excluded and the addresses payable."""

    datanet_id: int
    version_id: int
    manifest_cid: str
    block: int
    excluded: tuple[ExcludedEntry, ...] = ()
    payable: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def excluded_accounts(self) -> set[str]:
        return {e.contributor for e in self.excluded}

    def to_dict(self) -> dict[str, Any]:
        return {
            "datanet": self.datanet_id,
            "version": self.version_id,
            "manifestCid": self.manifest_cid,
            "block": self.block,
            "excluded": [e.to_dict() for e in self.excluded],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ManifestCheck:
        """The stated verdict (its `payable` set is not in the report: `verify epoch` recomputes it)."""
        return cls(
            int(data["datanet"]),
            int(data["version"]),
            str(data["manifestCid"]),
            int(data["block"]),
            tuple(ExcludedEntry.from_dict(e) for e in data["excluded"]),
        )


def check_manifest(client: ChainClient, store: ContentStore, model_id: int, block: int) -> ManifestCheck:
    """Check every entry of the model's Datanet version against the chain as it was at `block`."""
    model = from_abi(Model, client.models.contract.functions.getModel(model_id).call(block_identifier=block))
    try:
        published = load_published_manifest(
            client, store, model.datanet_id, model.version_id, check_entries=False
        )
    except OpenLedgerError as exc:
        raise RewardsError(
            f"cannot check the manifest of model {model_id} (datanet {model.datanet_id} v{model.version_id}) "
            f"before paying its contributors: {exc}"
        ) from None
    mismatches = verify_manifest_entries(client, published.manifest, block)
    excluded = tuple(
        ExcludedEntry(m.entry.contribution_id, m.entry.contributor, m.entry.cid, m.reasons)
        for m in mismatches
    )
    named = {e.contributor for e in published.manifest.contributions}
    payable = frozenset(named - {e.contributor for e in excluded})
    return ManifestCheck(
        model.datanet_id, model.version_id, published.manifest_cid, block, excluded, payable
    )
