"""Atomic file writes: a reader sees the old file or the whole new one, never half of it, and a written
file survives a kill -9 or a power loss (the data and the directory entry are both fsynced)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


DEFAULT_MODE = 0o644  # what a plain open() gives under the usual umask (mkstemp alone would give 0600)


@contextmanager
def _staged(path: str | os.PathLike[str], mode: int) -> Iterator[Path]:
    """A temporary file beside `path` (0600 while being written, so a secret is never readable by others,
    not even briefly); on a clean exit it is fsynced, given `mode` and renamed over `path`, and the
    directory entry fsynced; on an error it is removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


@contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: int = DEFAULT_MODE) -> Iterator[BinaryIO]:
    """A binary handle whose bytes replace `path` atomically and durably when the block ends cleanly."""
    with _staged(path, mode) as temp, open(temp, "wb") as handle:
        yield handle


def atomic_write(path: str | os.PathLike[str], data: bytes | str, mode: int = DEFAULT_MODE) -> Path:
    """Write `data` (str as UTF-8) to `path` atomically and durably."""
    with atomic_writer(path, mode) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def atomic_save(
    path: str | os.PathLike[str], save: Callable[[Path], None], mode: int = DEFAULT_MODE
) -> Path:
    """For writers that only take a file name (e.g. safetensors' `save_file`): `save` writes a temporary
    file beside `path`, which then replaces `path` atomically and durably."""
    with _staged(path, mode) as temp:
        save(temp)
    return Path(path)
