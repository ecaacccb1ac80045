"""What a worker does and how carefully: one dataclass, with defaults that suit a local Anvil."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from worker.chain.client import ChainClient
from worker.chain.connection import chain_key, genesis_hash
from worker.chain.finality import LOCAL_CHAIN_IDS
from worker.daemon.follower import FollowerSettings
from worker.daemon.tasks import Backoff


@dataclass(frozen=True)
class WorkerSettings:
    home: Path  # state for this chain and account: state.sqlite, jobs/<id>/, worker.log
    follower: FollowerSettings = field(default_factory=FollowerSettings)
    backoff: Backoff = field(default_factory=Backoff)
    poll_interval: float = 1.0  # seconds between polls when idle
    # Longest sleep before looking at a chain deadline again (dev chains can jump their clock forward).
    max_wait: float = 30.0
    stake: int = 1_000 * 10**18  # staked on registration if the account is not an active worker yet
    endpoint: str = "http://127.0.0.1:8000"
    register: bool = True
    # Base models this worker trains: catalogue names; a local directory path is accepted too when
    # `allow_local_models` is set (tests, private deployments).
    base_models: tuple[str, ...] = ("minilm", "smollm2-135m")
    allow_local_models: bool = False
    auto_review: tuple[int, ...] = ()  # datanet ids whose contributions this worker curates
    review_duplicate_fraction: float = 0.5  # reject when more than this share of records are duplicates
    finalize: bool = True  # finalize its own results once the challenge window has passed
    # Refuse to post a classifier result whose validation accuracy is below this (None: post any result);
    # the job is released for others and the reason logged.
    min_accuracy: float | None = None
    withdraw: bool = True  # pull the credited bounty after finalizing
    progress: bool = False  # training progress bars (interactive runs)
    rpc_backoff_cap: float = 30.0  # seconds, longest pause while the RPC is unreachable

    @property
    def db_path(self) -> Path:
        return self.home / "state.sqlite"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @property
    def log_path(self) -> Path:
        return self.home / "worker.log"


def default_confirmations(chain_id: int) -> int:
    """Local chains mine a block per transaction and never reorg on their own; elsewhere wait a little."""
    return 0 if chain_id in LOCAL_CHAIN_IDS else 3


def worker_home(base: Path, client: ChainClient) -> Path:
    """One state directory per chain (a fresh Anvil has a fresh genesis) and account, so two workers on
    one machine never share a cursor and a restarted dev chain never inherits an old one."""
    chain = chain_key(client.sender.chain_id, genesis_hash(client.w3))
    return base / "worker" / chain / client.address.lower()
