"""Verified fetch: whatever store the bytes come from, they are returned only if they hash to their CID.

This is what lets a worker train on content pulled from anyone's IPFS node: the CID on-chain is the trust
anchor, the node is not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from worker.errors import StorageError
from worker.files import atomic_writer
from worker.storage.cid import CidBuilder, parse_cid
from worker.storage.errors import CidMismatchError
from worker.storage.protocol import ContentStore


def verified_stream(store: ContentStore, cid: str, *, max_bytes: int | None = None) -> Iterator[bytes]:
    """Yield the content of `cid` chunk by chunk, recomputing its CID as it goes.

    After the last chunk a mismatch raises CidMismatchError: a consumer must treat what it received as
    untrusted until the iterator is exhausted (`verified_fetch` and `verified_fetch_to_path` do).
    More than `max_bytes` raises StorageError early, so a hostile node cannot exhaust memory or disk.
    """
    builder = CidBuilder(parse_cid(cid).profile)
    for chunk in store.cat_iter(cid):
        builder.update(chunk)
        if max_bytes is not None and builder.size > max_bytes:
            raise StorageError(f"{cid} from the {store.location} exceeds the {max_bytes} bytes allowed")
        yield chunk
    computed = builder.finalize()
    if computed != cid:
        raise CidMismatchError(cid, computed, store.location)


def verified_fetch(store: ContentStore, cid: str, *, max_bytes: int | None = None) -> bytes:
    """The content of `cid`, only if every byte read back hashes to `cid`."""
    return b"".join(verified_stream(store, cid, max_bytes=max_bytes))


def verified_fetch_to_path(store: ContentStore, cid: str, path: str | os.PathLike[str], *,
                           max_bytes: int | None = None) -> Path:
    """Download `cid` to `path` in constant memory; `path` appears only once the content is verified."""
    with atomic_writer(path) as handle:
        for chunk in verified_stream(store, cid, max_bytes=max_bytes):
            handle.write(chunk)
    return Path(path)
