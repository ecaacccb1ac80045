"""Atomic writes: the old file or the whole new one, never half; 0644 by default, a secret 0600 from the
first byte; a failed write leaves nothing behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from worker.files import atomic_save, atomic_write, atomic_writer


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_replace_whole_files_with_their_modes(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "record.json"
    atomic_write(target, "first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second" and _mode(target) == 0o644
    secret = atomic_write(tmp_path / "key.json", "{}", 0o600)
    assert _mode(secret) == 0o600
    saved = atomic_save(tmp_path / "tensors.bin", lambda temp: temp.write_bytes(b"\\x00\\x01"))
    assert saved.read_bytes() == b"\\x00\\x01" and _mode(saved) == 0o644


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_writer(target) as handle:
            handle.write(b"half of the new")
            raise RuntimeError("killed mid-write")
    with pytest.raises(OSError):
        atomic_save(target, lambda temp: (_ for _ in ()).throw(OSError("disk full")))
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]
