"""verified_fetch: bytes come back only if they hash to the CID asked for, whatever the store does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.config import Settings
from worker.errors import StorageError
from worker.storage import (
    CidMismatchError,
    ContentNotFoundError,
    InvalidCidError,
    KuboClient,
    LocalStore,
    compute_cid,
    open_store,
    verified_fetch,
    verified_fetch_to_path,
    verified_stream,
)

DATA = b"".join(i.to_bytes(4, "big") for i in range(200_000))  # 800,000 bytes


class LyingStore(LocalStore):
    """A store that serves other bytes than it was given (as a hostile IPFS node could)."""

    location = "lying test store"  # type: ignore[assignment]

    def cat_iter(self, cid: str, read_size: int = 1 << 20) -> Iterator[bytes]:
        yield DATA[:1000]
        yield b"X" + DATA[1001:]


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "ipfs")


def test_fetch_round_trip(store: LocalStore, tmp_path: Path) -> None:
    cid = store.add(DATA)
    assert verified_fetch(store, cid) == DATA
    assert b"".join(verified_stream(store, cid)) == DATA
    target = verified_fetch_to_path(store, cid, tmp_path / "out" / "data.bin")
    assert target.read_bytes() == DATA


def test_mismatch_names_expected_computed_and_source(tmp_path: Path) -> None:
    lying = LyingStore(tmp_path)
    cid = compute_cid(DATA)
    with pytest.raises(CidMismatchError) as caught:
        verified_fetch(lying, cid)
    error = caught.value
    assert isinstance(error, StorageError)
    assert error.expected == cid
    assert error.computed == compute_cid(DATA[:1000] + b"X" + DATA[1001:])
    assert error.source == "lying test store"
    assert cid in str(error) and error.computed in str(error) and "lying test store" in str(error)


def test_to_path_never_leaves_unverified_bytes(tmp_path: Path) -> None:
    target = tmp_path / "out" / "data.bin"
    with pytest.raises(CidMismatchError):
        verified_fetch_to_path(LyingStore(tmp_path / "s"), compute_cid(DATA), target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no leftover .part file either


def test_missing_content_and_bad_cid(store: LocalStore) -> None:
    with pytest.raises(ContentNotFoundError):
        verified_fetch(store, compute_cid(b"missing"))
    with pytest.raises(InvalidCidError):
        verified_fetch(store, "not-a-cid")


def test_max_bytes_stops_oversized_downloads(store: LocalStore) -> None:
    cid = store.add(DATA)
    with pytest.raises(StorageError, match="exceeds the 1000 bytes allowed"):
        verified_fetch(store, cid, max_bytes=1000)
    assert verified_fetch(store, cid, max_bytes=len(DATA)) == DATA


def test_cidv0_content_is_verified_with_the_v0_profile(store: LocalStore) -> None:
    from worker.storage import KUBO_DEFAULT_PROFILE

    v0_store = LocalStore(store.root, profile=KUBO_DEFAULT_PROFILE)
    cid = v0_store.add(DATA)
    assert cid.startswith("Qm")
    assert verified_fetch(store, cid) == DATA  # any store can serve it; the CID says how to check it


def test_open_store_picks_the_backend(tmp_path: Path) -> None:
    local = open_store(Settings.explicit(tmp_path, "http://x", None))
    assert isinstance(local, LocalStore) and local.root == tmp_path / "ipfs"
    remote = open_store(Settings.explicit(tmp_path, "http://x", "http://127.0.0.1:5001"))
    assert isinstance(remote, KuboClient) and remote.base_url == "http://127.0.0.1:5001/api/v0"
    remote.close()
