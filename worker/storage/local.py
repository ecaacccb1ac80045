"""The embedded content-addressed store (the default when no IPFS node is configured).

Layout under the root (default `$OPENLEDGER_HOME/ipfs`):
    objects/<cid>        whole files, published only complete (temp file, fsync, rename, fsync dir)
    objects/.tmp-*       writes in progress; never served, removed by `gc()` once stale
    pins/<cid>           empty marker files: pinned content survives `gc()`
    quarantine/<cid>.*   objects that failed verification, moved aside so they are never served again
Whole files (not blocks) keep reads a plain sequential file read; the CID is recomputed on every read, so
even an object damaged on disk after publication is detected, never returned as good.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from worker.errors import StorageError
from worker.files import fsync_dir
from worker.storage.cid import PROJECT_PROFILE, CidBuilder, CidProfile, parse_cid
from worker.storage.errors import CidMismatchError, ContentNotFoundError
from worker.storage.sources import Source, iter_source

TEMP_PREFIX = ".tmp-"
READ_SIZE = 1 << 20


@dataclass(frozen=True)
class GcResult:
    removed_objects: list[str]
    removed_temp_files: int


class LocalStore:
    """A ContentStore on the local file system; safe against crashes and concurrent writers of a CID."""

    def __init__(self, root: str | os.PathLike[str] | None = None, profile: CidProfile = PROJECT_PROFILE):
        if root is None:
            from worker.config import load_settings

            root = load_settings().ipfs_dir
        self.root = Path(root)
        self.profile = profile
        self.objects = self.root / "objects"
        self.pins_dir = self.root / "pins"
        self.quarantine = self.root / "quarantine"

    @property
    def location(self) -> str:
        return f"local store at {self.root}"

    def _ensure_dirs(self) -> None:
        try:
            for folder in (self.objects, self.pins_dir, self.quarantine):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the {self.location}: {exc}; check OPENLEDGER_HOME") from exc

    def _object_path(self, cid: str) -> Path:
        parse_cid(cid)  # also rejects anything that could escape the folder ("../x")
        return self.objects / cid

    # -- writing -----------------------------------------------------------------------------------------

    def add(self, source: Source, *, pin: bool = True) -> str:
        """Store the content and return its CID; the object appears only once complete and on disk."""
        self._ensure_dirs()
        fd, temp_name = tempfile.mkstemp(dir=self.objects, prefix=TEMP_PREFIX)
        temp = Path(temp_name)
        try:
            cid = self._write_temp(fd, source)
            # Replacing an existing object is harmless (same bytes) and repairs one damaged on disk.
            os.replace(temp, self.objects / cid)
            fsync_dir(self.objects)
        except BaseException as exc:
            temp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StorageError(f"writing to the {self.location} failed: {exc}") from exc
            raise
        if pin:
            self.pin(cid)
        return cid

    def _write_temp(self, fd: int, source: Source) -> str:
        builder = CidBuilder(self.profile)
        with os.fdopen(fd, "wb") as handle:
            for chunk in iter_source(source):
                builder.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        return builder.finalize()

    # -- reading -----------------------------------------------------------------------------------------

    def has(self, cid: str) -> bool:
        return self._object_path(cid).is_file()

    def size(self, cid: str) -> int:
        try:
            return self._object_path(cid).stat().st_size
        except FileNotFoundError as exc:
            raise ContentNotFoundError(cid, self.location) from exc

    def cat_iter(self, cid: str, read_size: int = READ_SIZE) -> Iterator[bytes]:
        """Stream the content. The CID is recomputed as it goes: after the last chunk, a mismatch raises
        CidMismatchError (and the object is quarantined), so a consumer never finishes on bad bytes."""
        path = self._object_path(cid)
        try:
            handle = open(path, "rb")  # opened now, so a missing CID fails at the call, not at first next()
        except FileNotFoundError as exc:
            raise ContentNotFoundError(cid, self.location) from exc
        return self._verified_chunks(cid, handle, read_size)

    def _verified_chunks(self, cid: str, handle: BinaryIO, read_size: int) -> Iterator[bytes]:
        builder = CidBuilder(parse_cid(cid).profile)
        inode = os.fstat(handle.fileno()).st_ino
        with handle:
            while chunk := handle.read(read_size):
                builder.update(chunk)
                yield chunk
        computed = builder.finalize()
        if computed != cid:
            self._quarantine(cid, inode)
            hint = "the object was damaged on disk and has been quarantined: add the file again"
            raise CidMismatchError(cid, computed, self.location, hint)

    def cat(self, cid: str) -> bytes:
        return b"".join(self.cat_iter(cid))

    def verify(self, cid: str) -> bool:
        """Re-hash one object; a damaged one is quarantined and False returned."""
        try:
            for _ in self.cat_iter(cid):
                pass
        except CidMismatchError:
            return False
        return True

    def _quarantine(self, cid: str, inode: int) -> None:
        """Move the damaged object aside, unless a concurrent add already replaced it with a good copy."""
        self._ensure_dirs()
        try:
            if os.stat(self.objects / cid).st_ino == inode:
                os.replace(self.objects / cid, self.quarantine / f"{cid}.{time.time_ns()}")
        except FileNotFoundError:
            pass  # another reader moved it first

    # -- pins and garbage collection ---------------------------------------------------------------------

    def pin(self, cid: str) -> None:
        if not self.has(cid):
            raise ContentNotFoundError(cid, self.location, "cannot pin content that is not stored")
        marker = self.pins_dir / cid
        if not marker.exists():
            marker.touch()
            fsync_dir(self.pins_dir)

    def unpin(self, cid: str) -> None:
        parse_cid(cid)
        (self.pins_dir / cid).unlink(missing_ok=True)

    def pins(self) -> list[str]:
        if not self.pins_dir.is_dir():
            return []
        return sorted(p.name for p in self.pins_dir.iterdir() if not p.name.startswith("."))

    def objects_list(self) -> list[str]:
        if not self.objects.is_dir():
            return []
        return sorted(p.name for p in self.objects.iterdir() if not p.name.startswith(TEMP_PREFIX))

    def gc(self, stale_after_s: float = 3600.0) -> GcResult:
        """Remove unpinned objects and abandoned temp files (from crashed writers) older than
        `stale_after_s`; the age guard leaves alone an add that is still between writing and pinning."""
        cutoff = time.time() - stale_after_s
        pinned = set(self.pins())
        removed: list[str] = []
        temps = 0
        if not self.objects.is_dir():
            return GcResult([], 0)
        for path in self.objects.iterdir():
            if path.stat().st_mtime > cutoff:
                continue
            if path.name.startswith(TEMP_PREFIX):
                path.unlink(missing_ok=True)
                temps += 1
            elif path.name not in pinned:
                path.unlink(missing_ok=True)
                removed.append(path.name)
        return GcResult(sorted(removed), temps)
