"""CIDs: Kubo's published vectors, the profile value, the CID parser, streaming in constant memory."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from worker.errors import StorageError
from worker.storage import (
    KUBO_DEFAULT_PROFILE,
    PROJECT_PROFILE,
    CidBuilder,
    CidProfile,
    InvalidCidError,
    compute_cid,
    compute_file_cid,
    compute_stream_cid,
    parse_cid,
)

KUBO_V0 = [
    (b"", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
    (b"hello world\n", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
    (b"hello world", "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"),
]
KUBO_V1 = [
    (b"hello world\n", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
    # the raw block of zero bytes: what `ipfs add --cid-version=1` prints for an empty file
    (b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
]


@pytest.mark.parametrize(("data", "cid"), KUBO_V0)
def test_kubo_default_vectors(data: bytes, cid: str) -> None:
    assert compute_cid(data, KUBO_DEFAULT_PROFILE) == cid


@pytest.mark.parametrize(("data", "cid"), KUBO_V1)
def test_kubo_cid_version_1_vectors(data: bytes, cid: str) -> None:
    assert compute_cid(data, PROJECT_PROFILE) == cid
    assert compute_cid(data) == cid  # the project profile is the default


def test_project_profile_is_cidv1_raw_leaves_recorded_in_metadata() -> None:
    meta = PROJECT_PROFILE.to_metadata()
    assert meta == {"cid_version": 1, "raw_leaves": True, "hash_function": "sha2-256", "chunk_size": 262144,
                    "layout": "balanced", "max_links": 174}
    assert CidProfile.from_metadata(meta) == PROJECT_PROFILE
    assert PROJECT_PROFILE.kubo_add_params() == {"cid-version": "1", "raw-leaves": "true", "hash": "sha2-256",
                                                 "chunker": "size-262144", "trickle": "false"}
    with pytest.raises(AttributeError):
        PROJECT_PROFILE.cid_version = 0  # type: ignore[misc]


@pytest.mark.parametrize("fields", [{"chunk_size": 1 << 20}, {"max_links": 1024}, {"raw_leaves": False},
                                    {"hash_function": "blake3"}, {"layout": "trickle"}])
def test_profiles_we_cannot_compute_are_refused(fields: dict) -> None:
    with pytest.raises(StorageError, match="unsupported CID profile"):
        CidProfile(**fields)
    with pytest.raises(StorageError, match="unknown CID profile fields"):
        CidProfile.from_metadata({"chunker": "rabin"})


def test_bytes_file_stream_and_pieces_agree(tmp_path: Path) -> None:
    data = bytes(range(256)) * 2100  # 537,600 bytes: three chunks
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    expected = compute_cid(data)
    assert expected.startswith("bafybei")  # several chunks: a dag-pb root
    assert compute_file_cid(path) == expected
    reader = io.BytesIO(data)
    assert compute_stream_cid(reader.read(n) for n in (1, 7, 262144, 300000)) == expected
    builder = CidBuilder()
    for piece in (memoryview(data)[:1000], bytearray(data[1000:5000]), data[5000:]):
        builder.update(piece)
    assert builder.size == len(data)
    assert builder.finalize() == expected == builder.finalize()
    with pytest.raises(StorageError):
        builder.update(b"more")


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    pytest.skip("no /proc/self/status")


def test_streaming_uses_constant_memory() -> None:
    block = bytes(range(256)) * 4096  # 1 MiB, reused: the stream itself allocates nothing
    before = _rss_bytes()
    cid = compute_stream_cid(block for _ in range(256))  # 256 MiB
    growth = _rss_bytes() - before
    assert cid.startswith("bafybei")
    assert growth < 48 * 1024 * 1024, f"hashing 256 MiB grew RSS by {growth / 2**20:.0f} MiB"


def test_parse_cid_accepts_both_versions() -> None:
    v0 = parse_cid("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    assert (v0.version, v0.codec, len(v0.digest), v0.profile) == (0, 0x70, 32, KUBO_DEFAULT_PROFILE)
    v1 = parse_cid("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4")
    assert (v1.version, v1.codec, v1.profile) == (1, 0x55, PROJECT_PROFILE)
    import hashlib

    assert v1.digest == hashlib.sha256(b"hello world\n").digest()


@pytest.mark.parametrize("bad", ["", "Qm123", "../../etc/passwd",
                                 "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff50",
                                 "BAFKREIFJJCIE6LYPI6NY7AMXNFFTAGCLBUXNDQONFIPMB64F2KM2DEVEI4",
                                 "bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",  # dag-cbor
                                 "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei5",  # stray bits
                                 "zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7"])
def test_parse_cid_rejects_with_a_clear_error(bad: str) -> None:
    with pytest.raises(InvalidCidError, match="is not a usable CID"):
        parse_cid(bad)
