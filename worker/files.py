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
def atomic_writer(path: str | os.PathLike[str], mode: int = DEFAULT_MODE) -> Iterator[BinaryIO]:
    """A binary handle on a temporary file beside `path`; on a clean exit the file gets permission bits
    `mode`, is fsynced and renamed over `path`; on an error it is removed. The temporary file is 0600
    until then, so a secret (mode 0600) is never readable by others, not even briefly."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def atomic_write(path: str | os.PathLike[str], data: bytes | str, mode: int = DEFAULT_MODE) -> Path:
    """Write `data` (str as UTF-8) to `path` atomically and durably."""
    with atomic_writer(path, mode) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def atomic_save(path: str | os.PathLike[str], save: Callable[[Path], None]) -> Path:
    """For writers that only take a file name (e.g. safetensors' `save_file`): `save` writes a temporary
    file beside `path`, which is then fsynced and renamed over `path`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    try:
        save(Path(temp_name))
        with open(temp_name, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temp_name, DEFAULT_MODE)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target
