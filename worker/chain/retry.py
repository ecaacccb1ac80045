"""Retries with exponential backoff for RPC errors that are worth a second try (network, 429, 5xx)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from web3.exceptions import Web3RPCError

T = TypeVar("T")

# Phrases nodes and providers use for overload; a revert or a bad nonce is never in this list.
_TRANSIENT_PHRASES = (
    "rate limit",
    "too many requests",
    "timeout",
    "timed out",
    "temporarily",
    "try again",
    "header not found",
    "service unavailable",
    "internal server error",
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial_delay: float = 0.2
    factor: float = 2.0
    max_delay: float = 5.0

    def delays(self) -> list[float]:
        out, delay = [], self.initial_delay
        for _ in range(self.attempts - 1):
            out.append(min(delay, self.max_delay))
            delay *= self.factor
        return out


NO_RETRY = RetryPolicy(attempts=1)


def is_transient(exc: BaseException) -> bool:
    """Network trouble and provider overload: yes. Reverts, bad nonces, bad arguments: no."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else 0
        return status == 429 or status >= 500
    if isinstance(exc, Web3RPCError):
        return any(p in str(exc).lower() for p in _TRANSIENT_PHRASES)
    return False


def with_retries(fn: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call `fn`, retrying transient failures with backoff; the last failure propagates."""
    for delay in policy.delays():
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            sleep(delay)
    return fn()
