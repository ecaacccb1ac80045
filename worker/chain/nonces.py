"""One nonce counter per (chain, account), shared by every sender of that account in this process.

Asking the node for a nonce on each send races with our own in-flight transactions; a local counter does
not, as long as there is exactly one per account. It starts from (and falls back to) the node's `pending`
count, and is resynchronised from it whenever the node rejects a nonce.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_NONCE_ERROR_PHRASES = (
    "nonce too low",
    "nonce too high",
    "invalid nonce",
    "already known",
    "replacement transaction underpriced",
    "nonce has already been used",
)


def is_nonce_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(p in text for p in _NONCE_ERROR_PHRASES)


class NonceManager:
    """Hands out consecutive nonces for one account. Hold `reserve()` while signing and broadcasting."""

    def __init__(self, fetch_pending: Callable[[], int]):
        self._fetch_pending = fetch_pending
        self._lock = threading.RLock()
        self._next: int | None = None

    @contextmanager
    def reserve(self) -> Iterator[int]:
        """Yield the next nonce under the account lock; it is consumed only if the block exits cleanly."""
        with self._lock:
            if self._next is None:
                self._next = self._fetch_pending()
            nonce = self._next
            yield nonce
            self._next = nonce + 1

    def resync(self) -> int:
        """Forget the local counter and take the node's pending count (after a nonce error)."""
        with self._lock:
            self._next = self._fetch_pending()
            return self._next

    def reset(self) -> None:
        """Forget the counter; the next reservation reads the node's pending count again."""
        with self._lock:
            self._next = None

    @property
    def lock(self) -> threading.RLock:
        return self._lock


_registry: dict[tuple[str, int, str], NonceManager] = {}
_registry_lock = threading.Lock()


def nonce_manager(
    endpoint: str, chain_id: int, address: str, fetch_pending: Callable[[], int]
) -> NonceManager:
    """The single manager of `address` on `chain_id` behind `endpoint` (created on first use)."""
    key = (endpoint, chain_id, address.lower())
    with _registry_lock:
        manager = _registry.get(key)
        if manager is None:
            manager = _registry[key] = NonceManager(fetch_pending)
        return manager


def forget_nonces(chain_id: int | None = None) -> None:
    """Reset cached counters (after `evm_revert` or a node restart rewinds the chain). The managers stay
    the same objects, so senders holding one keep sharing it."""
    with _registry_lock:
        managers = [m for k, m in _registry.items() if chain_id is None or k[1] == chain_id]
    for manager in managers:
        manager.reset()
