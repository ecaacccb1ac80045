"""What `add` accepts (bytes, a path, a binary file, an iterable of byte chunks) as one chunk stream."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from worker.errors import StorageError

READ_SIZE = 1 << 20

# A `str` is a path, never content: encode text yourself (`text.encode()`), so that a typo in a file name
# cannot silently be stored as data.
Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO | Iterable[bytes]


def iter_source(source: Source, read_size: int = READ_SIZE) -> Iterator[bytes]:
    """Yield the content of `source` as `bytes` chunks, reading files lazily (constant memory)."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield bytes(source)
        return
    if isinstance(source, str | os.PathLike):
        yield from _iter_path(Path(source), read_size)
        return
    if hasattr(source, "read"):
        yield from _iter_reader(cast(_Reader, source), read_size)  # hasattr does not narrow to the protocol
        return
    if isinstance(source, Iterable):
        for chunk in source:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise StorageError(f"content stream yielded {type(chunk).__name__}, expected bytes chunks")
            yield bytes(chunk)
        return
    raise StorageError(
        f"cannot store a {type(source).__name__}: "
        "pass bytes, a file path, a binary file or an iterable of bytes"
    )


def source_name(source: Source) -> str:
    """A file name for uploads (Kubo echoes it back; it never changes the CID)."""
    if isinstance(source, str | os.PathLike):
        return Path(source).name or "data"
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "data"


def _iter_path(path: Path, read_size: int) -> Iterator[bytes]:
    try:
        handle = open(path, "rb")
    except FileNotFoundError as exc:
        raise StorageError(f"cannot add {path}: no such file") from exc
    except IsADirectoryError as exc:
        raise StorageError(f"cannot add {path}: it is a directory, add its files one by one") from exc
    with handle:
        yield from _iter_reader(handle, read_size)


class _Reader(Protocol):
    """Anything with a `read(size)`; a text-mode file (returning `str`) is refused when read."""

    def read(self, size: int, /) -> bytes | str: ...


def _iter_reader(reader: _Reader, read_size: int) -> Iterator[bytes]:
    while True:
        chunk = reader.read(read_size)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise StorageError("the file object is open in text mode: open it with 'rb'")
        yield bytes(chunk)
