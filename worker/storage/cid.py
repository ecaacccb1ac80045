"""Kubo-identical content identifiers (what `ipfs add` prints) for files of any size, computed in streaming.

The UnixFS/dag-pb encoding and the balanced DAG are computed by `aleph-cid` (a Rust wheel golden-tested
against Kubo; our tests also compare it with the JS reference importer). This module adds what the rest
of OpenLedger needs around it: the project's CID profile as a value that metadata records, a strict CID
parser (so bad input fails with a clear message instead of deep in a hasher), and helpers for bytes,
files and streams.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import aleph_cid

from worker.errors import StorageError
from worker.storage.errors import InvalidCidError

SHA2_256 = 0x12
RAW = 0x55
DAG_PB = 0x70
CODEC_NAMES = {RAW: "raw", DAG_PB: "dag-pb"}
READ_SIZE = 1 << 20


@dataclass(frozen=True)
class CidProfile:
    """How bytes become a CID: the `ipfs add` options that change the result.

    Two profiles are computable (the only two Kubo produces with its default importer settings):
    CIDv1 with raw leaves (`ipfs add --cid-version=1`, the PROJECT profile) and CIDv0 with dag-pb leaves
    (plain `ipfs add`). Both use sha2-256, fixed 256 KiB chunks and a balanced DAG of at most 174 links.
    """

    cid_version: int = 1
    raw_leaves: bool = True
    hash_function: str = "sha2-256"
    chunk_size: int = 262_144
    layout: str = "balanced"
    max_links: int = 174

    def __post_init__(self) -> None:
        fixed = (self.hash_function, self.chunk_size, self.layout, self.max_links)
        if fixed != ("sha2-256", 262_144, "balanced", 174):
            raise StorageError(
                f"unsupported CID profile {self.to_metadata()}: only sha2-256, 256 KiB chunks and a balanced "
                "DAG of 174 links (Kubo's importer defaults) can be computed"
            )
        if (self.cid_version, self.raw_leaves) not in ((1, True), (0, False)):
            raise StorageError(
                f"unsupported CID profile cid_version={self.cid_version} raw_leaves={self.raw_leaves}: "
                "use CIDv1 with raw leaves (the project default) or CIDv0 with dag-pb leaves (Kubo's default)"
            )

    def to_metadata(self) -> dict[str, Any]:
        """The profile as Datanet metadata records it, so anyone can recompute every CID."""
        return asdict(self)

    @classmethod
    def from_metadata(cls, data: dict[str, Any]) -> CidProfile:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise StorageError(f"unknown CID profile fields {unknown}; known fields are {sorted(known)}")
        return cls(**data)

    def kubo_add_params(self) -> dict[str, str]:
        """Query parameters that make Kubo's `/api/v0/add` produce this profile's CIDs."""
        return {
            "cid-version": str(self.cid_version),
            "raw-leaves": "true" if self.raw_leaves else "false",
            "hash": self.hash_function,
            "chunker": f"size-{self.chunk_size}",
            "trickle": "false",
        }


PROJECT_PROFILE = CidProfile()
KUBO_DEFAULT_PROFILE = CidProfile(cid_version=0, raw_leaves=False)


@dataclass(frozen=True)
class ParsedCid:
    version: int
    codec: int
    digest: bytes

    @property
    def profile(self) -> CidProfile:
        """The profile whose CIDs look like this one (the only one we can verify it with)."""
        return KUBO_DEFAULT_PROFILE if self.version == 0 else PROJECT_PROFILE


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def _b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + _B58_INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + body


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def _parse_multihash(data: bytes, pos: int) -> bytes:
    code, pos = _read_varint(data, pos)
    length, pos = _read_varint(data, pos)
    if code != SHA2_256 or length != 32:
        raise ValueError(f"multihash 0x{code:x}/{length} bytes, only sha2-256 (0x12/32) is supported")
    if len(data) - pos != 32:
        raise ValueError("digest length does not match the multihash header")
    return data[pos:]


def parse_cid(cid: str) -> ParsedCid:
    """Decode and check a CID string; raise InvalidCidError saying what is wrong."""
    if not isinstance(cid, str) or not cid:
        raise InvalidCidError(cid, "empty or not a string")
    try:
        if len(cid) == 46 and cid.startswith("Qm"):
            return ParsedCid(0, DAG_PB, _parse_multihash(_b58decode(cid), 0))
        if not cid.startswith("b"):
            raise ValueError("only base58btc CIDv0 ('Qm...') and base32 CIDv1 ('b...') are accepted")
        body = cid[1:]
        if body != body.lower():
            raise ValueError("base32 CIDs must be lower case")
        raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
        if base64.b32encode(raw).decode().lower().rstrip("=") != body:
            raise ValueError("non-canonical base32 (stray trailing bits)")
        version, pos = _read_varint(raw, 0)
        codec, pos = _read_varint(raw, pos)
        if version != 1 or codec not in CODEC_NAMES:
            raise ValueError(f"CIDv{version} with codec 0x{codec:x}; only CIDv1 raw or dag-pb is supported")
        return ParsedCid(1, codec, _parse_multihash(raw, pos))
    except (ValueError, binascii.Error) as exc:
        raise InvalidCidError(cid, str(exc)) from exc


class CidBuilder:
    """Streaming CID computation: feed bytes in any pieces, constant memory, then `finalize()` once."""

    def __init__(self, profile: CidProfile = PROJECT_PROFILE) -> None:
        self.profile = profile
        self.size = 0
        if profile.cid_version == 1:
            self._hasher = aleph_cid.CidHasher.for_ipfs_v1_raw_leaves()
        else:
            self._hasher = aleph_cid.CidHasher.for_ipfs()
        self._cid: str | None = None

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if self._cid is not None:
            raise StorageError("CidBuilder.update() after finalize(): start a new CidBuilder")
        if not data:
            return
        # aleph-cid only takes `bytes`; the copy is cheap next to hashing.
        self._hasher.update(data if type(data) is bytes else bytes(data))
        self.size += len(data)

    def finalize(self) -> str:
        if self._cid is None:
            self._cid = self._hasher.finalize()
        return self._cid


def compute_cid(data: bytes | bytearray | memoryview, profile: CidProfile = PROJECT_PROFILE) -> str:
    builder = CidBuilder(profile)
    builder.update(data)
    return builder.finalize()


def compute_stream_cid(chunks: Iterable[bytes], profile: CidProfile = PROJECT_PROFILE) -> str:
    builder = CidBuilder(profile)
    for chunk in chunks:
        builder.update(chunk)
    return builder.finalize()


def compute_file_cid(path: str | os.PathLike[str], profile: CidProfile = PROJECT_PROFILE) -> str:
    builder = CidBuilder(profile)
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_SIZE):
            builder.update(chunk)
    return builder.finalize()
