"""The embedded content-addressed store: add/cat/has/pin/gc, and damaged objects never served as good."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from worker.errors import StorageError
from worker.storage import (
    KUBO_DEFAULT_PROFILE,
    CidMismatchError,
    ContentNotFoundError,
    ContentStore,
    InvalidCidError,
    LocalStore,
    compute_cid,
)

DATA = bytes(range(251)) * 3000  # 753,000 bytes: several chunks


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "ipfs")


def test_every_source_kind_gives_the_same_cid_and_bytes(store: LocalStore, tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    expected = compute_cid(DATA)
    sources = [DATA, bytearray(DATA), memoryview(DATA), path, str(path), io.BytesIO(DATA),
               (DATA[i:i + 100_000] for i in range(0, len(DATA), 100_000))]
    assert [store.add(source) for source in sources] == [expected] * len(sources)
    assert store.has(expected)
    assert store.cat(expected) == DATA
    assert b"".join(store.cat_iter(expected, read_size=4096)) == DATA
    assert store.size(expected) == len(DATA)
    assert store.pins() == [expected]
    assert store.objects_list() == [expected]
    assert isinstance(store, ContentStore)


def test_empty_content_and_kubo_default_profile(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, profile=KUBO_DEFAULT_PROFILE)
    assert store.add(b"") == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    assert store.cat("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH") == b""


def test_missing_and_invalid_cids_raise_clear_errors(store: LocalStore, tmp_path: Path) -> None:
    missing = compute_cid(b"never stored")
    assert not store.has(missing)
    with pytest.raises(ContentNotFoundError, match=missing):
        store.cat(missing)
    with pytest.raises(ContentNotFoundError):
        store.cat_iter(missing)  # fails at the call, not at the first next()
    with pytest.raises(ContentNotFoundError, match="cannot pin"):
        store.pin(missing)
    with pytest.raises(InvalidCidError):
        store.has("../../etc/passwd")
    with pytest.raises(StorageError, match="no such file"):
        store.add(tmp_path / "nope.jsonl")
    with pytest.raises(StorageError, match="iterable of bytes"):
        store.add(12345)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="expected bytes chunks"):
        store.add(iter(["text"]))  # type: ignore[list-item]


def test_pins_and_gc(store: LocalStore) -> None:
    kept = store.add(b"pinned")
    loose = store.add(b"not pinned", pin=False)
    assert store.pins() == [kept]
    assert store.gc().removed_objects == []  # both are fresh: the age guard protects in-flight adds
    result = store.gc(stale_after_s=-1)
    assert result.removed_objects == [loose]
    assert store.has(kept) and not store.has(loose)
    store.unpin(kept)
    store.unpin(kept)  # idempotent
    assert store.pins() == []
    store.pin(kept)
    assert store.pins() == [kept]


def test_default_root_is_the_settings_ipfs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLEDGER_HOME", str(tmp_path / "home"))
    store = LocalStore()
    cid = store.add(b"x")
    assert (tmp_path / "home" / "ipfs" / "objects" / cid).is_file()


def test_object_damaged_on_disk_is_detected_quarantined_and_repairable(store: LocalStore) -> None:
    cid = store.add(DATA)
    obj = store.objects / cid
    damaged = bytearray(obj.read_bytes())
    damaged[500_000] ^= 0xFF
    obj.write_bytes(bytes(damaged))

    chunks = store.cat_iter(cid)
    with pytest.raises(CidMismatchError) as caught:
        for _ in chunks:
            pass
    assert caught.value.expected == cid and caught.value.computed != cid
    assert "local store" in caught.value.source
    assert not store.has(cid), "a damaged object must never be served again"
    assert len(list(store.quarantine.iterdir())) == 1
    with pytest.raises(ContentNotFoundError):
        store.cat(cid)

    assert store.add(DATA) == cid  # adding the content again repairs the store
    assert store.cat(cid) == DATA
    assert store.verify(cid)


def test_truncated_object_fails_verification(store: LocalStore) -> None:
    cid = store.add(DATA)
    with open(store.objects / cid, "r+b") as handle:
        handle.truncate(1000)
    assert store.verify(cid) is False
    assert not store.has(cid)


def test_objects_are_read_only_after_publication_by_rename_only(store: LocalStore) -> None:
    """Two adds of the same content leave one object and no temp files."""
    cid = store.add(DATA)
    inode = os.stat(store.objects / cid).st_ino
    assert store.add(DATA) == cid
    assert os.stat(store.objects / cid).st_ino != inode  # replaced whole, never rewritten in place
    assert [p.name for p in store.objects.iterdir()] == [cid]
