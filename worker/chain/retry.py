"""Retries with exponential backoff for RPC errors that are worth a second try (network, 429, 5xx)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential
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


def rpc_unavailable(exc: BaseException) -> bool:
    """The failure comes from an unreachable or overloaded node, directly or as the cause of another."""
    current: BaseException | None = exc
    while current is not None:
        if is_transient(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def with_retries(fn: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call `fn`, retrying transient failures with exponential backoff; the last failure propagates."""
    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.initial_delay, exp_base=policy.factor, max=policy.max_delay),
        retry=retry_if_exception(is_transient),
        sleep=sleep,
        reraise=True,
    )
    return retrying(fn)
