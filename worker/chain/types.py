"""Plain Python views of the contract structs and enums (docs/PROTOCOL.md), built from decoded tuples."""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar, get_type_hints

from eth_utils.address import to_checksum_address

T = TypeVar("T")
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_BYTES32 = b"\x00" * 32
BPS = 10_000  # basis points: the unit of shares and collateral ratios on-chain


class ContributionStatus(IntEnum):
    NONE = 0
    PENDING = 1
    ACCEPTED = 2
    REJECTED = 3
    WITHDRAWN = 4


class ModelStatus(IntEnum):
    NONE = 0
    REGISTERED = 1
    LIVE = 2


class JobStatus(IntEnum):
    NONE = 0
    OPEN = 1
    CLAIMED = 2
    SUBMITTED = 3
    CHALLENGED = 4
    FINALIZED = 5
    CANCELLED = 6


class EpochStatus(IntEnum):
    NONE = 0
    POSTED = 1
    CHALLENGED = 2
    FINALIZED = 3
    SWEPT = 4  # the claim period ended and the unclaimed rest went back to the pool


@dataclass(frozen=True)
class Policy:
    stake_per_contribution: int
    review_period: int
    slash_bps: int

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.stake_per_contribution, self.review_period, self.slash_bps)


@dataclass(frozen=True)
class Datanet:
    owner: str
    treasury: str
    metadata_cid: str
    policy: Policy
    created_at: int
    version_count: int
    contribution_count: int


@dataclass(frozen=True)
class Contribution:
    """A contribution: the registry's two-slot record plus its CIDs, which the chain keeps only in events
    (`content_cid` from ContributionSubmitted, checked against the registry's (contributor, CID) key;
    `reason_cid` from ContributionReviewed, "" until reviewed), as `DatanetRegistry.get_contribution`
    builds it."""

    datanet_id: int
    contributor: str
    content_cid: str
    byte_size: int
    record_count: int
    stake: int
    status: ContributionStatus
    submitted_at: int
    reason_cid: str
    stake_released: bool


@dataclass(frozen=True)
class Version:
    merkle_root: bytes
    manifest_cid: str
    record_count: int
    contribution_count: int
    published_at: int


@dataclass(frozen=True)
class Worker:
    stake: int
    endpoint: str
    registered_at: int
    exit_requested_at: int
    active: bool


@dataclass(frozen=True)
class Model:
    owner: str
    datanet_id: int
    version_id: int
    base_model: str
    training_spec_cid: str
    price_per_inference: int
    status: ModelStatus
    live_job_id: int
    compute_provider: str
    adapter_cid: str


@dataclass(frozen=True)
class Lineage:
    """Where a derived model comes from (all zero for a model registered from scratch)."""

    parent_model_id: int
    parent_job_id: int
    depth: int

    @property
    def derived(self) -> bool:
        return self.parent_model_id != 0


@dataclass(frozen=True)
class Result:
    adapter_cid: str
    metrics_cid: str
    attribution_root: bytes
    report_cid: str
    submitted_at: int


@dataclass(frozen=True)
class Dispute:
    """An open challenge of posted work (a job result or an epoch root): who escrowed `bond`, and until
    when governance may rule before anyone can lapse it. All zero when there is none."""

    challenger: str
    ruling_deadline: int
    bond: int

    @property
    def open(self) -> bool:
        return self.challenger != ZERO_ADDRESS


@dataclass(frozen=True)
class Job:
    model_id: int
    requester: str
    bounty: int
    status: JobStatus
    worker: str
    requested_at: int
    claimed_at: int
    lease_expires_at: int
    challenge_deadline: int
    locked_stake: int  # collateral the claim locked from the worker's free stake
    dispute: Dispute
    result: Result


def collateral_for(value: int, collateral_bps: int) -> int:
    """Stake locked by posted work controlling `value` (a job's bounty, an epoch root's total): the
    contracts' `_collateralFor`, rounded up."""
    return -(-value * collateral_bps // BPS)


@dataclass(frozen=True)
class ModelParams:
    lease_duration: int
    max_lease_time: int  # a claim's lease never runs past claimedAt + this, renewals included
    job_deadline: int  # no claims after requestedAt + this; the requester may cancel a late claim
    challenge_window: int
    ruling_period: int  # governance rules within this, else anyone lapses the challenge
    challenge_bond: int
    slash_amount: int  # the floor of a slash (an upheld challenge takes max(this, collateral))
    challenger_reward_bps: int
    collateral_bps: int  # stake locked per unit of bounty a claim controls
    treasury: str

    def collateral(self, bounty: int) -> int:
        """Stake a claim of a job with `bounty` locks."""
        return collateral_for(bounty, self.collateral_bps)


@dataclass(frozen=True)
class FeeSplit:
    treasury_bps: int
    owner_bps: int
    provider_bps: int
    contributors_bps: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.treasury_bps, self.owner_bps, self.provider_bps, self.contributors_bps)


@dataclass(frozen=True)
class Epoch:
    """An epoch root as the vault stores it (its report CID is in the `EpochPosted` event only)."""

    root: bytes
    poster: str
    locked_stake: int
    total: int
    claimed: int
    deadline: int  # challenge deadline while Posted/Challenged, claim deadline once Finalized
    status: EpochStatus
    dispute: Dispute

    @property
    def challenge_deadline(self) -> int | None:
        return self.deadline if self.status in (EpochStatus.POSTED, EpochStatus.CHALLENGED) else None

    @property
    def claim_deadline(self) -> int | None:
        return self.deadline if self.status in (EpochStatus.FINALIZED, EpochStatus.SWEPT) else None

    @property
    def unclaimed(self) -> int:
        return self.total - self.claimed


@dataclass(frozen=True)
class Pool:
    """A model's contributor pool: `available` for new epochs, `reserved` by epochs not yet swept."""

    available: int
    reserved: int


@dataclass(frozen=True)
class Payment:
    """One `InferencePaid` event: who paid for how many requests of which model, and the split."""

    payment_id: int
    model_id: int
    payer: str
    request_count: int
    amount: int
    request_ref: bytes
    treasury_share: int
    owner_share: int
    provider_share: int
    contributors_share: int
    block_number: int
    tx_hash: str


def utc(timestamp: int) -> str:
    """A chain timestamp as a UTC date to the minute, for messages: '2026-12-06 14:00 UTC'."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _convert(kind: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(kind):
        return from_abi(kind, value)  # type: ignore[arg-type]
    if isinstance(kind, type) and issubclass(kind, IntEnum):
        return kind(value)
    if isinstance(value, str) and _ADDRESS.match(value):
        return to_checksum_address(value)
    return value


def from_abi(cls: type[T], value: Any) -> T:
    """Build dataclass `cls` from a decoded struct: a named tuple (by camelCase name) or a plain tuple
    (by position, for functions with several outputs such as `getWorker`)."""
    hints = get_type_hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if hasattr(value, "_asdict"):
        named = value._asdict()
        raw = [named[camel(f.name)] for f in fields]
    else:
        raw = list(value)
        if len(raw) != len(fields):
            raise ValueError(f"{cls.__name__} expects {len(fields)} values, got {len(raw)}")
    return cls(**{f.name: _convert(hints[f.name], v) for f, v in zip(fields, raw, strict=True)})
