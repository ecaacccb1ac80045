"""Crash safety of the local store: a write that dies half-way never yields a partial object."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from worker.errors import StorageError
from worker.storage import LocalStore, compute_stream_cid

ROOT = Path(__file__).resolve().parents[2]
BLOCK = bytes(range(256)) * 4096  # 1 MiB


def _assert_nothing_published(store: LocalStore, cid: str) -> None:
    assert not store.has(cid)
    assert store.objects_list() == []
    assert store.pins() == []
    with pytest.raises(StorageError):
        store.cat(cid)


def test_failure_at_rename_leaves_no_object_and_no_temp(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path)
    cid = compute_stream_cid([BLOCK] * 3)

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StorageError, match="No space left"):
        store.add([BLOCK] * 3)
    monkeypatch.undo()
    _assert_nothing_published(store, cid)
    assert list(store.objects.iterdir()) == []  # the temp file was removed too
    assert store.add([BLOCK] * 3) == cid  # and the store works afterwards


def test_source_failing_mid_stream_publishes_nothing(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)

    def broken_upload():
        yield BLOCK
        yield BLOCK
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        store.add(broken_upload())
    assert list(store.objects.iterdir()) == []
    assert store.pins() == []


WRITER = textwrap.dedent("""
    import sys, time
    from worker.storage import LocalStore
    block = bytes(range(256)) * 4096
    def stream():
        for i in range(64):
            yield block
            if i == 8:
                print("writing", flush=True)
                time.sleep(60)   # killed here, with 9 MiB written to the temp file
    LocalStore(sys.argv[1]).add(stream())
""")


def test_writer_killed_mid_write_leaves_a_consistent_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "ipfs")
    full_cid = compute_stream_cid([BLOCK] * 64)
    partial_cid = compute_stream_cid([BLOCK] * 9)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store.root)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    temps = [p for p in store.objects.iterdir() if p.name.startswith(".tmp-")]
    assert len(temps) == 1 and temps[0].stat().st_size >= 9 * len(BLOCK)  # the partial write exists...
    for cid in (full_cid, partial_cid):
        _assert_nothing_published(store, cid)  # ...but is never served under any CID

    assert store.gc().removed_temp_files == 0  # too fresh: could be a live writer
    os.utime(temps[0], (time.time() - 7200, time.time() - 7200))
    assert store.gc().removed_temp_files == 1
    assert store.add([BLOCK] * 64) == full_cid
    assert store.cat(full_cid) == BLOCK * 64
