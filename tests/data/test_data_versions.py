"""Datanet metadata and version manifests: canonical JSON, validation, the Merkle root (= OpenZeppelin's)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from worker.data import RecordLimits
from worker.data.manifest import LEAF_ENCODING, ContributionEntry, DatasetManifest
from worker.data.metadata import DatanetMetadata
from worker.errors import DataError
from worker.merkle import StandardMerkleTree
from worker.storage import KUBO_DEFAULT_PROFILE, PROJECT_PROFILE, compute_cid

ROOT = Path(__file__).resolve().parents[2]
OZ_SCRIPT = ROOT / "tests" / "merkle" / "oz_tree.mjs"
OZ_TREE = ROOT / "node_modules" / "@openzeppelin" / "merkle-tree"


def _entries(n: int, seed: int = 0) -> list[ContributionEntry]:
    rng = random.Random(seed)
    return [ContributionEntry(contribution_id=i + 1, contributor="0x" + rng.randbytes(20).hex(),
                              cid=compute_cid(rng.randbytes(50)), record_count=rng.randrange(1, 5000),
                              byte_size=rng.randrange(100, 10**6)) for i in range(n)]


def test_metadata_canonical_json_round_trip() -> None:
    meta = DatanetMetadata(name="Tweets", description="Sentiment of tweets", task="classification",
                           labels=["negative", "neutral", "positive"], licence="CC-BY-4.0",
                           limits=RecordLimits(max_records=1000))
    encoded = meta.canonical_json()
    assert b" " not in encoded.replace(b"Sentiment of tweets", b"")
    parsed = json.loads(encoded)
    assert list(parsed) == sorted(parsed)
    assert parsed["cid_profile"] == PROJECT_PROFILE.to_metadata()
    assert parsed["limits"] == {"max_file_bytes": 16 * 2**20, "max_records": 1000, "max_record_chars": 4000}
    again = DatanetMetadata.from_json(encoded)
    assert again == meta and again.canonical_json() == encoded
    assert again.record_schema().labels == ("negative", "neutral", "positive")
    assert again.profile() == PROJECT_PROFILE
    # key order and spacing of the input do not matter: the canonical form does
    shuffled = json.dumps(dict(reversed(list(parsed.items()))), indent=2)
    assert DatanetMetadata.from_json(shuffled).canonical_json() == encoded


@pytest.mark.parametrize(("changes", "message"), [
    ({"task": "regression"}, "task"),
    ({"labels": []}, "non-empty set"),
    ({"name": ""}, "name"),
    ({"licence": ""}, "licence"),
    ({"cid_profile": {"cid_version": 1, "raw_leaves": False}}, "unsupported CID profile"),
    ({"surprise": 1}, "surprise"),
])
def test_invalid_metadata_is_a_data_error(changes: dict, message: str) -> None:
    base = {"name": "n", "task": "classification", "labels": ["a"], "licence": "MIT"}
    with pytest.raises(DataError, match=message):
        DatanetMetadata.from_json(json.dumps({**base, **changes}))


def test_metadata_may_record_the_kubo_default_profile() -> None:
    meta = DatanetMetadata(name="g", task="generation", licence="MIT",
                           cid_profile=KUBO_DEFAULT_PROFILE.to_metadata())
    assert meta.profile() == KUBO_DEFAULT_PROFILE


def test_manifest_is_canonical_whatever_the_input_order() -> None:
    entries = _entries(6)
    manifest = DatasetManifest(datanet_id=3, contributions=list(reversed(entries)))
    assert [e.contribution_id for e in manifest.contributions] == [1, 2, 3, 4, 5, 6]
    assert manifest.record_count == sum(e.record_count for e in entries)
    assert manifest.contribution_count == 6
    encoded = manifest.canonical_json()
    assert DatasetManifest.from_json(encoded) == manifest
    assert DatasetManifest.from_json(encoded).merkle_root() == manifest.merkle_root()
    assert DatasetManifest(datanet_id=3, contributions=entries).canonical_json() == encoded


def test_manifest_root_and_proofs() -> None:
    manifest = DatasetManifest(datanet_id=1, contributions=_entries(5))
    root = manifest.merkle_root()
    assert root.startswith("0x") and len(root) == 66
    for entry in manifest.contributions:
        proof = manifest.proof(entry.contribution_id)
        assert StandardMerkleTree.verify_proof(root, LEAF_ENCODING, entry.leaf(), proof)
    with pytest.raises(DataError, match="not in this version"):
        manifest.proof(99)
    first = manifest.contributions[0]
    changed = first.model_copy(update={"record_count": first.record_count + 1})
    other = DatasetManifest(datanet_id=1, contributions=[changed, *manifest.contributions[1:]])
    assert other.merkle_root() != root  # the record count is committed


@pytest.mark.skipif(shutil.which("node") is None or not OZ_TREE.is_dir(),
                    reason="node or @openzeppelin/merkle-tree missing (run `npm ci`)")
def test_manifest_root_equals_openzeppelin_merkle_tree() -> None:
    manifest = DatasetManifest(datanet_id=1, contributions=_entries(7, seed=5))
    payload = {"encoding": list(LEAF_ENCODING),
               "values": [[str(e.contribution_id), e.contributor, e.cid, str(e.record_count)]
                          for e in manifest.contributions]}
    done = subprocess.run(["node", str(OZ_SCRIPT)], input=json.dumps(payload), capture_output=True, text=True,
                          check=True, timeout=60, env={"OZ_MERKLE_ROOT": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert json.loads(done.stdout)["root"] == manifest.merkle_root()


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda e: [e[0], e[0]], "listed twice"),
    (lambda e: [e[0], e[1].model_copy(update={"cid": e[0].cid, "contributor": e[0].contributor})],
     "contributor's CID is listed twice"),
    (lambda e: [], "at least 1"),
])
def test_invalid_manifests(mutate, message: str) -> None:
    entries = _entries(2)
    payload = {"datanet_id": 1, "contributions": [e.model_dump() for e in mutate(entries)]}
    with pytest.raises(DataError, match=message):
        DatasetManifest.from_json(json.dumps(payload))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("contributor", "0x123", "not an Ethereum address"),
    ("cid", "Qmnope", "not a usable CID"),
    ("record_count", 0, "greater than or equal to 1"),
    ("record_count", 2**32, "less than or equal to"),
    ("contribution_id", 0, "greater than or equal to 1"),
])
def test_invalid_entries(field: str, value: object, message: str) -> None:
    entry = _entries(1)[0].model_dump()
    entry[field] = value
    with pytest.raises(DataError, match=message):
        DatasetManifest.from_json(json.dumps({"datanet_id": 1, "contributions": [entry]}))


def test_contributor_addresses_are_checksummed() -> None:
    entry = _entries(1)[0]
    lower = ContributionEntry(**{**entry.model_dump(), "contributor": entry.contributor.lower()})
    assert lower.contributor == entry.contributor and lower.contributor != entry.contributor.lower()
