"""The one interface the rest of OpenLedger uses for content; the embedded store and Kubo implement it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from worker.storage.sources import Source


@runtime_checkable
class ContentStore(Protocol):
    """Content addressed by CID. `cat`/`cat_iter` raise ContentNotFoundError for unknown CIDs.

    Callers that need a guarantee about what they read use `verified_fetch`, which recomputes the CID
    whatever the backend does.
    """

    @property
    def location(self) -> str:
        """Where content comes from, for error messages ("local store at ...", "IPFS node at ...")."""
        ...

    def add(self, source: Source, *, pin: bool = True) -> str:
        """Store the content and return its CID (in the store's profile)."""
        ...

    def cat(self, cid: str) -> bytes: ...

    def cat_iter(self, cid: str) -> Iterator[bytes]: ...

    def has(self, cid: str) -> bool: ...

    def pin(self, cid: str) -> None: ...

    def unpin(self, cid: str) -> None: ...

    def pins(self) -> list[str]: ...
