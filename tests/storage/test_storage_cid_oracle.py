"""Our CIDs against the JS reference importer (ipfs-unixfs-importer) on the sizes where layouts change.

Sizes: empty, 1 byte, small, exactly one chunk (262144), one chunk + 1 byte (first dag-pb root),
174 chunks (a full root), 175 chunks (first file needing two levels), and ~60 MB (two levels with a
partial second subtree). Both profiles: Kubo's default (CIDv0) and --cid-version=1 (raw leaves).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from _cid_oracle import oracle_cids, oracle_skip_reason

from worker.storage import KUBO_DEFAULT_PROFILE, PROJECT_PROFILE, compute_file_cid

CHUNK = 262_144
SIZES = {
    "empty": 0,
    "one-byte": 1,
    "small": 1_000,
    "one-chunk": CHUNK,
    "one-chunk-plus-one": CHUNK + 1,
    "174-chunks": 174 * CHUNK,
    "175-chunks": 175 * CHUNK,
    "60-MB": 60 * 1024 * 1024 + 7,
}
PROFILES = {"v0": KUBO_DEFAULT_PROFILE, "v1": PROJECT_PROFILE}

pytestmark = pytest.mark.skipif(oracle_skip_reason() is not None, reason=oracle_skip_reason() or "")


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cid-oracle")
    block = random.Random(20261124).randbytes(4 * 1024 * 1024 + 13)  # odd length: chunks differ
    files = {}
    for name, size in SIZES.items():
        path = folder / name
        with open(path, "wb") as handle:
            left = size
            while left:
                piece = block[: min(left, len(block))]
                handle.write(piece)
                left -= len(piece)
        files[name] = path
    return files


@pytest.fixture(scope="module")
def oracle(sample_files: dict[str, Path]) -> dict[str, dict[str, str]]:
    answers = {}
    for profile in PROFILES:
        found = oracle_cids(profile, list(sample_files.values()))
        answers[profile] = {name: found[str(path)][0] for name, path in sample_files.items()}
    return answers


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("name", list(SIZES))
def test_cid_equals_reference_importer(sample_files: dict[str, Path], oracle: dict[str, dict[str, str]],
                                       profile: str, name: str) -> None:
    assert compute_file_cid(sample_files[name], PROFILES[profile]) == oracle[profile][name]


def test_oracle_itself_reproduces_kubo_vectors(tmp_path: Path) -> None:
    """Guards the oracle: with our options it must print Kubo's published CIDs."""
    hello = tmp_path / "hello"
    hello.write_bytes(b"hello world\n")
    assert oracle_cids("v0", [hello])[str(hello)][0] == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    v1 = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    assert oracle_cids("v1", [hello])[str(hello)][0] == v1
