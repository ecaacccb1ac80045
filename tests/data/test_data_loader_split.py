"""Loading a dataset version back through verified fetch, and the deterministic train/validation split."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.data import RecordSchema, split_records, split_score
from worker.data.manifest import ContributionEntry, DatasetManifest
from worker.datanet.loading import DatasetRecord, load_version
from worker.errors import DataError
from worker.storage import CidMismatchError, LocalStore, verified_fetch

SCHEMA = RecordSchema("classification", ("pos", "neg"))
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20


def _file(prefix: str, n: int) -> bytes:
    return b"".join(json.dumps({"text": f"{prefix} record {i}", "label": "pos" if i % 2 else "neg"}).encode()
                    + b"\n" for i in range(n))


@pytest.fixture
def published(tmp_path: Path) -> tuple[LocalStore, DatasetManifest, str]:
    store = LocalStore(tmp_path / "ipfs")
    files = {4: (ALICE, _file("alice", 3)), 9: (BOB, _file("bob", 2))}
    entries = [ContributionEntry(contribution_id=cid_, contributor=who, cid=store.add(data),
                                 record_count=data.count(b"\n"), byte_size=len(data))
               for cid_, (who, data) in files.items()]
    manifest = DatasetManifest(datanet_id=1, contributions=entries)
    manifest_cid = store.add(manifest.canonical_json())
    return store, manifest, manifest_cid


def test_version_loads_with_provenance(published: tuple[LocalStore, DatasetManifest, str]) -> None:
    store, manifest, manifest_cid = published
    assert DatasetManifest.from_json(verified_fetch(store, manifest_cid)) == manifest
    records = load_version(manifest, store, SCHEMA, expected_root=manifest.merkle_root())
    assert [(r.contribution_id, r.index) for r in records] == [(4, 0), (4, 1), (4, 2), (9, 0), (9, 1)]
    assert records[0].contributor.lower() == ALICE and records[3].contributor.lower() == BOB
    assert records[4].record == {"text": "bob record 1", "label": "pos"}
    assert load_version(manifest, store) == records  # without a schema: plain JSON objects


def test_wrong_root_or_counts_are_refused(published: tuple[LocalStore, DatasetManifest, str]) -> None:
    store, manifest, _ = published
    with pytest.raises(DataError, match="wrong manifest for this version"):
        load_version(manifest, store, expected_root="0x" + "00" * 32)
    first = manifest.contributions[0]
    lying_count = DatasetManifest(datanet_id=1, contributions=[
        first.model_copy(update={"record_count": 4}), *manifest.contributions[1:]])
    with pytest.raises(DataError, match="holds 3 records, the manifest says 4"):
        load_version(lying_count, store)


def test_a_file_that_no_longer_validates_is_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    data = b'{"text": "x", "label": "maybe"}\n'
    entry = ContributionEntry(contribution_id=1, contributor=ALICE, cid=store.add(data), record_count=1,
                              byte_size=len(data))
    with pytest.raises(DataError, match="no longer validates"):
        load_version(DatasetManifest(datanet_id=1, contributions=[entry]), store, SCHEMA)


class _Tampering(LocalStore):
    def cat_iter(self, cid: str, read_size: int = 1 << 20) -> Iterator[bytes]:
        yield (self.objects / cid).read_bytes().replace(b"alice", b"ALICE")  # same size, other bytes


def test_tampered_content_is_caught_by_verified_fetch(
        published: tuple[LocalStore, DatasetManifest, str]) -> None:
    store, manifest, _ = published
    with pytest.raises(CidMismatchError):
        load_version(manifest, _Tampering(store.root))


def _records(n: int) -> list[DatasetRecord]:
    return [DatasetRecord(i // 10 + 1, ALICE, i % 10, {"text": f"sample {i}", "label": "pos"})
            for i in range(n)]


def test_split_is_deterministic_and_independent_of_order() -> None:
    records = _records(2000)
    split = split_records(records, 0.2, seed=7)
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    assert split_records(shuffled, 0.2, seed=7) == split
    assert len(split.train) + len(split.validation) == 2000
    assert 300 < len(split.validation) < 500  # ~400 expected (binomial, sd ~18)
    other_seed = split_records(records, 0.2, seed=8)
    assert {id(r) for r in other_seed.validation} != {id(r) for r in split.validation}


def test_membership_depends_only_on_the_record() -> None:
    records = _records(500)
    before = {r.record["text"] for r in split_records(records, 0.3, seed=1).validation}
    grown = split_records(records + _records(900)[500:], 0.3, seed=1)  # a later version adds data
    after = {r.record["text"] for r in grown.validation}
    assert before == {t for t in after if int(t.split()[1]) < 500}


def test_same_text_from_two_contributors_lands_on_the_same_side() -> None:
    a = {"text": "identical", "label": "pos", "contributor": "alice"}
    b = {"text": "identical", "label": "pos", "contributor": "bob"}
    assert split_score(a, 3) == split_score(b, 3)
    sides = split_records([a, b] + [{"text": f"t{i}", "label": "neg"} for i in range(50)], 0.5, seed=3)
    assert (a in sides.validation) == (b in sides.validation)


def test_tiny_sets_still_get_a_validation_record_and_bad_fractions_fail() -> None:
    split = split_records([{"text": "one"}, {"text": "two"}], 0.01, seed=0)
    assert len(split.validation) == 1 and len(split.train) == 1
    assert split_records([{"text": "one"}], 0.0).validation == []
    with pytest.raises(DataError, match="validation fraction"):
        split_records([], 1.0)
    with pytest.raises(DataError, match="cannot split"):
        split_records(["text"], 0.5)  # type: ignore[list-item]
