"""Heartbeats: while the worker computes, a thread renews its on-chain lease before it runs out.

If a renewal is refused (the lease expired and another worker took the job, or the job changed state),
the keeper records it and the job pipeline stops at its next check instead of computing for nothing.
"""

from __future__ import annotations

import logging
import threading

from worker.chain.client import ChainClient
from worker.chain.reverts import TransactionReverted
from worker.daemon.logs import event
from worker.errors import OpenLedgerError


class LeaseLost(OpenLedgerError):
    """The worker no longer holds the job's lease."""


class LeaseKeeper:
    """Renews the lease on `job_id` when less than `renew_fraction` of `duration` is left (chain time)."""

    def __init__(
        self,
        client: ChainClient,
        job_id: int,
        duration: int,
        expires_at: int,
        renew_fraction: float = 0.5,
        check_every: float | None = None,
    ):
        self.client, self.job_id, self.duration = client, job_id, duration
        self.expires_at = expires_at
        self.renew_fraction = renew_fraction
        self.check_every = check_every if check_every is not None else max(min(duration / 10, 30.0), 0.2)
        self.renewals = 0
        self._lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def check(self) -> None:
        """Raise LeaseLost if a renewal was refused."""
        if self._lost is not None:
            raise LeaseLost(f"lease on job {self.job_id} lost: {self._lost}")

    def _run(self) -> None:
        while not self._stop.wait(self.check_every):
            try:
                self._renew_if_due()
            except TransactionReverted as exc:
                if exc.error_name == "LeaseCapReached":
                    # The claim's total lease time is capped: the lease still runs until it expires,
                    # so keep working; a submit after it is refused and the job is claimed afresh.
                    event(logging.WARNING, "lease.capped", job=self.job_id, expires_at=self.expires_at)
                    return
                self._lost = str(exc)
                event(logging.WARNING, "lease.lost", job=self.job_id, error=str(exc))
                return
            except Exception as exc:  # RPC trouble: try again at the next beat
                event(logging.WARNING, "lease.renew_failed", job=self.job_id, error=str(exc))

    def _renew_if_due(self) -> None:
        now = self.client.latest_timestamp()
        if self.expires_at - now > self.duration * self.renew_fraction:
            return
        renewed = self.client.models.renew_lease(self.job_id).event("LeaseRenewed")
        self.expires_at = int(renewed["leaseExpiresAt"])
        self.renewals += 1
        event(logging.INFO, "lease.renewed", job=self.job_id, expires_at=self.expires_at)
