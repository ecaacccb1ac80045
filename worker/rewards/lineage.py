"""Lineage payouts: a derived model's epoch passes a governance-set share of its leaves to the
contributors of the models it was fine-tuned from, by their own model-level attribution.

The rule (docs/PROTOCOL.md, "Lineage payouts"), in integers and a fixed order so the epoch service and
`verify epoch` agree to the wei; every input is read at the epoch's lineage block L, the block of the
newest `InferencePaid` among its counted receipts (at or before its pinned block B, which must follow every
payment it counts): a block the poster cannot choose, only which receipts the epoch counts, and one after
the derived model's registration (its lineage is set in the same transaction and never changes):
- the ancestors are `ModelRegistry.ancestorsOf(model)` (parent first, at most `maxLineageDepth`), each
  with the job pinned when its child was registered; the share is `RewardVault.lineageShareBps` (s);
- every leaf of the epoch (receipt amounts plus residue shares) gives `amount * s // 10_000` up: their
  sum is `upstream`; a model without ancestors (or s = 0) gives nothing;
- ancestor i receives U_i (U_1 = upstream) and passes `U_i * s // 10_000` to ancestor i + 1; the last
  keeps all it receives (`RewardVault.upstreamSplit`, mirrored by `upstream_split`);
- what ancestor i keeps is paid to its contributors by the positive model-level attribution of its pinned
  job's report, in ppm (`ppm_shares`, the rule behind that job's attribution root): `kept * ppm // 1e6`,
  to the addresses its own manifest check at L leaves payable;
- the floors, unpayable shares and an ancestor whose report pays nobody leave `dust`: it is not in the
  leaves, so it stays in the derived model's pool and reaches a later epoch as residue.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_utils.address import to_checksum_address

from worker.chain.client import ChainClient
from worker.chain.types import Job, Payment, from_abi
from worker.rewards.eligibility import ManifestCheck, check_manifest
from worker.storage import ContentStore, verified_fetch
from worker.units import PPM

BPS = 10_000
MAX_ATTRIBUTION_REPORT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Ancestor:
    """An ancestor a derived model's epochs pay, with the weights of its pinned job's report."""

    model_id: int
    job_id: int
    report_cid: str
    weights: tuple[tuple[str, int], ...]  # (contributor, ppm), largest first
    payable: frozenset[str] | None = field(default=None, compare=False)  # None: everyone


@dataclass(frozen=True)
class LineageTerms:
    """The lineage inputs of one epoch, read at `block`."""

    block: int
    share_bps: int
    ancestors: tuple[Ancestor, ...]


@dataclass(frozen=True)
class LineageLevel:
    model_id: int
    job_id: int
    report_cid: str
    received: int
    kept: int
    paid: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "job": self.job_id,
            "reportCid": self.report_cid,
            "received": str(self.received),
            "kept": str(self.kept),
            "paid": {a: str(v) for a, v in self.paid.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LineageLevel:
        return cls(
            int(data["model"]),
            int(data["job"]),
            str(data["reportCid"]),
            int(data["received"]),
            int(data["kept"]),
            {str(a): int(v) for a, v in data["paid"].items()},
        )


@dataclass(frozen=True)
class LineagePayout:
    """What an epoch passed up its lineage: `upstream` cut from its leaves, split over `levels`."""

    block: int
    share_bps: int
    upstream: int
    levels: tuple[LineageLevel, ...]

    @property
    def paid(self) -> int:
        return sum(sum(level.paid.values()) for level in self.levels)

    @property
    def dust(self) -> int:
        """Cut from the leaves but paid to nobody: it stays in the derived model's pool."""
        return self.upstream - self.paid

    def to_dict(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "shareBps": self.share_bps,
            "upstream": str(self.upstream),
            "paid": str(self.paid),
            "dust": str(self.dust),
            "levels": [level.to_dict() for level in self.levels],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LineagePayout:
        return cls(
            int(data["block"]),
            int(data["shareBps"]),
            int(data["upstream"]),
            tuple(LineageLevel.from_dict(level) for level in data["levels"]),
        )


def upstream_split(upstream: int, levels: int, share_bps: int) -> list[int]:
    """What each of `levels` ancestors keeps of `upstream` (RewardVault.upstreamSplit): each passes
    `received * share_bps // 10_000` on, the last keeps the rest; sums to `upstream`."""
    kept, received = [], upstream
    for i in range(levels):
        passed = received * share_bps // BPS if i + 1 < levels else 0
        kept.append(received - passed)
        received = passed
    return kept


def apply_lineage(
    amounts: Mapping[str, int], terms: LineageTerms | None
) -> tuple[dict[str, int], LineagePayout | None]:
    """The leaves after the lineage cut (sorted by address) and what went up; unchanged and None for a
    model without ancestors."""
    if terms is None or not terms.ancestors:
        return dict(amounts), None
    s = terms.share_bps
    leaves: dict[str, int] = {}
    upstream = 0
    for address in sorted(amounts):
        cut = amounts[address] * s // BPS
        upstream += cut
        leaves[address] = amounts[address] - cut
    levels = []
    received = upstream
    for ancestor, kept in zip(
        terms.ancestors, upstream_split(upstream, len(terms.ancestors), s), strict=True
    ):
        paid: dict[str, int] = {}
        for contributor, ppm in ancestor.weights:
            amount = kept * ppm // PPM
            contributor = to_checksum_address(contributor)  # one row per address, as the leaves are
            if amount > 0 and (ancestor.payable is None or contributor in ancestor.payable):
                paid[contributor] = paid.get(contributor, 0) + amount
                leaves[contributor] = leaves.get(contributor, 0) + amount
        levels.append(
            LineageLevel(
                ancestor.model_id, ancestor.job_id, ancestor.report_cid, received, kept,
                {a: paid[a] for a in sorted(paid)},
            )
        )
        received -= kept
    final = {a: leaves[a] for a in sorted(leaves) if leaves[a] > 0}
    return final, LineagePayout(terms.block, s, upstream, tuple(levels))


def ppm_weights(masses: Mapping[str, float]) -> list[tuple[str, int]]:
    """The rule of worker.attribution.shares.ppm_shares (rewards sits beside attribution, so it is
    restated here; tests/rewards/test_lineage_rule.py checks both agree): positive masses,
    largest first (ties by key), `int(mass / total * 1e6)` each, the remainder to the first."""
    ranked = sorted(((m, k) for k, m in masses.items() if m > 0), key=lambda mk: (-mk[0], mk[1]))
    total = sum(m for m, _ in ranked)
    if not ranked or total <= 0:
        return []
    shares = [int(m / total * PPM) for m, _ in ranked]
    shares[0] += PPM - sum(shares)
    return [(k, s) for (_, k), s in zip(ranked, shares, strict=True) if s > 0]


def lineage_block(payments: Iterable[Payment], default: int) -> int:
    """The block an epoch's lineage is read at: its newest counted payment's (`default` without any)."""
    return max((p.block_number for p in payments), default=default)


class _Cache:
    """A small thread-safe LRU of immutable results (epoch service thread and HTTP handlers share it)."""

    def __init__(self, size: int) -> None:
        self.size, self._items, self._lock = size, OrderedDict[Any, Any](), threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# A report's bytes are fixed by its CID, so its weights are too; a manifest check depends only on the
# chain at its block (keyed by the block's hash too). Missing content is never cached.
_WEIGHTS = _Cache(64)
_CHECKS = _Cache(256)


def clear_caches() -> None:
    _WEIGHTS.clear()
    _CHECKS.clear()


def report_weights(store: ContentStore, report_cid: str) -> tuple[tuple[str, int], ...]:
    """The positive model-level attribution of a job's report (`model_level.contributors`: key, weight),
    per contributor in ppm: the same rule as its attribution root, with keys checksummed (and their masses
    summed) first, so one address is one row. Content that is missing or over the limit raises a
    StorageError (nobody can judge without it); a report that is malformed pays nobody, on every machine
    alike. Cached by CID (immutable)."""
    cached: tuple[tuple[str, int], ...] | None = _WEIGHTS.get(report_cid)
    if cached is not None:
        return cached
    raw = verified_fetch(store, report_cid, max_bytes=MAX_ATTRIBUTION_REPORT_BYTES)
    weights: tuple[tuple[str, int], ...]
    try:
        rows = (json.loads(raw).get("model_level") or {}).get("contributors") or []
        masses: dict[str, float] = {}
        for row in rows:
            key = to_checksum_address(str(row["key"]))
            masses[key] = masses.get(key, 0.0) + float(row["weight"])
        weights = tuple(ppm_weights(masses))
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        weights = ()
    _WEIGHTS.put(report_cid, weights)
    return weights


def _job_at(client: ChainClient, job_id: int, block: int) -> Job:
    return from_abi(Job, client.models.contract.functions.getJob(job_id).call(block_identifier=block))


def _manifest_check(
    client: ChainClient, store: ContentStore, model_id: int, job_id: int, block: int
) -> ManifestCheck:
    at = client.w3.eth.get_block(block)["hash"]  # by hash: a devnet revert reuses block numbers
    key = (client.models.address, model_id, job_id, block, bytes(at))
    cached: ManifestCheck | None = _CHECKS.get(key)
    if cached is None:
        cached = check_manifest(client, store, model_id, block)
        _CHECKS.put(key, cached)
    return cached


def read_lineage(client: ChainClient, store: ContentStore, model_id: int, block: int) -> LineageTerms | None:
    """The lineage terms of `model_id` at `block`, the epoch's lineage block (None when it has no
    ancestors to pay): every input (ancestors, pinned jobs, their reports' CIDs, their manifest checks, the
    share) is read at `block`."""
    chain = client.models.ancestors_of(model_id, block)
    if not chain:
        return None
    ancestors = []
    for ancestor_id, job_id in chain:
        report_cid = _job_at(client, job_id, block).result.report_cid
        payable = _manifest_check(client, store, ancestor_id, job_id, block).payable
        weights = report_weights(store, report_cid)
        ancestors.append(Ancestor(ancestor_id, job_id, report_cid, weights, payable))
    return LineageTerms(block, client.vault.lineage_share_bps(block), tuple(ancestors))
