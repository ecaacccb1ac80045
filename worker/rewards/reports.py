"""Fetching an epoch report by its on-chain CID (every byte verified against the CID)."""

from __future__ import annotations

from worker.rewards.epoch_report import MAX_REPORT_BYTES, EpochReport
from worker.rewards.errors import RewardsError
from worker.storage import ContentStore, verified_fetch
from worker.storage.errors import ContentNotFoundError


def fetch_report(store: ContentStore, cid: str) -> bytes:
    """The report's bytes, verified against `cid` (RewardsError when the store does not have them)."""
    try:
        return verified_fetch(store, cid, max_bytes=MAX_REPORT_BYTES)
    except ContentNotFoundError:
        raise RewardsError(
            f"epoch report {cid} is not in the content store ({store.location}): fetch it from the poster "
            "or point IPFS_API at a node that has it"
        ) from None


def load_report(store: ContentStore, cid: str) -> EpochReport:
    return EpochReport.from_bytes(fetch_report(store, cid))
