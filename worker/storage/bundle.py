"""Directory bundles: a directory stored as one canonical JSON document listing each file's CID.

A trained model (adapter, spec, metrics, attribution index) is a directory; the chain stores one CID for
it. The bundle document is itself content-addressed, so the bundle CID pins every byte of every file,
and fetching re-verifies each file on the way down.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from worker.canonical import canonical_json
from worker.errors import StorageError
from worker.storage.protocol import ContentStore
from worker.storage.verify import verified_fetch, verified_fetch_to_path

BUNDLE_FORMAT = "openledger.bundle/1"
MAX_BUNDLE_DOCUMENT = 4 * 1024 * 1024  # a listing, not content: anything larger is hostile


@dataclass(frozen=True)
class Bundle:
    """The bundle document: relative POSIX path -> file CID."""

    files: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"format": BUNDLE_FORMAT, "files": dict(self.files)}

    def document(self) -> bytes:
        """The bytes whose CID names the bundle (canonical JSON, keys sorted)."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, document: Any, where: str) -> Bundle:
        """A parsed bundle document, checked; `where` names it in errors (its CID)."""
        if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
            raise StorageError(f"{where} is not a directory bundle (expected format {BUNDLE_FORMAT!r})")
        files = document.get("files")
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise StorageError(f"bundle {where} has no valid `files` listing")
        for name in files:
            _check_relative(where, name)
        return cls(files)


def bundle_document(store: ContentStore, directory: str | Path) -> bytes:
    """Add every file under `directory` and return the bundle document (not yet stored)."""
    root = Path(directory)
    if not root.is_dir():
        raise StorageError(f"cannot bundle {root}: not a directory")
    files = {
        p.relative_to(root).as_posix(): store.add(p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    if not files:
        raise StorageError(f"cannot bundle {root}: it holds no files")
    return Bundle(files).document()


def add_directory(store: ContentStore, directory: str | Path) -> str:
    """Store a directory; the returned CID names the whole tree."""
    return store.add(bundle_document(store, directory))


def bundle_files(store: ContentStore, cid: str) -> dict[str, str]:
    """The verified listing of bundle `cid`: relative path -> file CID."""
    raw = verified_fetch(store, cid, max_bytes=MAX_BUNDLE_DOCUMENT)
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StorageError(f"{cid} is not a directory bundle (not JSON: {exc})") from None
    return Bundle.from_dict(document, cid).files


def _check_relative(cid: str, name: str) -> None:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts:
        raise StorageError(f"bundle {cid} lists an unsafe path {name!r}")


def fetch_directory(store: ContentStore, cid: str, out: str | Path) -> Path:
    """Materialise bundle `cid` at `out`, every file verified; `out` appears only when complete."""
    target = Path(out)
    files = bundle_files(store, cid)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        for name, file_cid in sorted(files.items()):
            dest = verified_fetch_to_path(store, file_cid, staging / name)
            dest.chmod(0o644)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
