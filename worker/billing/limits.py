"""Rate limits (token buckets) for paid requests: per payer (after the signature is recovered, before any
RPC) and per client IP (before the body is read). A refused request gets RateLimited, HTTP 429 with
Retry-After, and costs the server nothing but a dictionary lookup."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from worker.billing.errors import RateLimited


@dataclass(frozen=True)
class RateLimit:
    rate: float  # tokens added per second; 0 disables the limit
    burst: int  # bucket size: requests allowed at once


class RateLimiter:
    """One token bucket per key, for the `max_keys` most recently seen keys (older ones start full again,
    so memory stays bounded whatever an attacker sends)."""

    def __init__(
        self,
        limit: RateLimit,
        what: str,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        unit: str = "requests",
    ):
        self.limit, self.what, self.max_keys, self.clock, self.unit = limit, what, max_keys, clock, unit
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, amount: float = 1.0) -> None:
        """Spend `amount` tokens of `key`'s bucket (one per request; or bytes, for a byte quota);
        RateLimited (with the wait until there are enough) if it holds fewer."""
        if self.limit.rate <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - at) * self.limit.rate)
            if tokens >= amount:
                self._buckets[key] = (tokens - amount, now)
                refused = 0.0
            else:
                self._buckets[key] = (tokens, now)
                refused = (min(amount, float(self.limit.burst)) - tokens) / self.limit.rate
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        if refused:
            raise RateLimited(
                f"too many {self.unit} for this {self.what} (at most {self.limit.rate:g}/s, bursts of "
                f"{self.limit.burst}): retry in {refused:.2f} s",
                retry_after=refused,
            )
