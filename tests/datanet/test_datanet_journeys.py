"""worker.datanet on a real Anvil: versions hold exactly what the chain accepted, curation checks what it
accepts, and a version that disagrees with its on-chain root is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.canonical import canonical_json
from worker.chain.devnet import LocalChain
from worker.chain.types import ContributionStatus, Policy
from worker.datanet.contributing import check_submittable, prepare_contribution_data, upload_and_submit
from worker.datanet.creating import build_metadata, create_datanet
from worker.datanet.curation import review_contribution
from worker.datanet.publishing import manifest_from_chain, publish_version
from worker.datanet.state import _submitted_ids, datanet_contributions, fetch_metadata
from worker.datanet.versions import ManifestEntryMismatch, export_version, load_published_manifest
from worker.errors import ChainError, DataError, StorageError
from worker.storage import LocalStore
from worker.units import OPEN

OWNER, CURATOR = 1, 2


def jsonl(*texts: str) -> bytes:
    return b"".join(canonical_json({"text": t, "label": "pos"}) + b"\n" for t in texts)


@pytest.fixture
def setup(devnet: LocalChain, tmp_path: Path) -> tuple[LocalChain, LocalStore, int]:
    store = LocalStore(tmp_path / "ipfs")
    for index in (3, 4, 5):
        devnet.client(0).token.transfer(devnet.client(index).address, 100 * OPEN)
    metadata = build_metadata(name="n", task="classification", labels=["neg", "pos"], licence="CC0-1.0")
    created = create_datanet(
        devnet.client(OWNER), store, metadata, Policy(OPEN, 60, 5_000), [devnet.client(CURATOR).address]
    )
    return devnet, store, created.datanet_id


def submit(devnet: LocalChain, store: LocalStore, datanet_id: int, index: int, data: bytes) -> int:
    client = devnet.client(index)
    prepared = prepare_contribution_data(client, store, datanet_id, data)
    check_submittable(client, prepared)
    return upload_and_submit(client, store, prepared).contribution_id


def test_a_version_lists_exactly_the_accepted_contributions(
    setup: tuple[LocalChain, LocalStore, int], tmp_path: Path
) -> None:
    devnet, store, datanet_id = setup
    curator = devnet.client(CURATOR)
    accepted = submit(devnet, store, datanet_id, 3, jsonl("alpha beta gamma", "delta epsilon zeta"))
    rejected = submit(devnet, store, datanet_id, 4, jsonl("eta theta iota kappa"))
    pending = submit(devnet, store, datanet_id, 5, jsonl("lambda mu nu xi"))
    review_contribution(curator, store, accepted, True, verify_content=True)
    verdict = review_contribution(curator, store, rejected, False, reason="off topic")
    assert verdict.slashed == verdict.refunded == OPEN // 2
    reason = json.loads(store.cat(verdict.reason_cid))
    assert reason["reason"] == "off topic" and reason["contribution_id"] == rejected
    assert reason["accepted"] is False and reason["reviewer"] == curator.address

    statuses = {c.contribution_id: c.contribution.status for c in datanet_contributions(curator, datanet_id)}
    assert statuses == {
        accepted: ContributionStatus.ACCEPTED,
        rejected: ContributionStatus.REJECTED,
        pending: ContributionStatus.PENDING,
    }
    assert _submitted_ids(curator, datanet_id) == [accepted, rejected, pending]  # from logs, by datanet
    metadata = fetch_metadata(store, datanet_id, curator.datanets.get_datanet(datanet_id))
    manifest = manifest_from_chain(curator, datanet_id, metadata)
    assert [e.contribution_id for e in manifest.contributions] == [accepted]
    assert manifest.contributions[0].record_count == 2
    assert manifest.contributions[0].contributor == devnet.client(3).address

    published = publish_version(devnet.client(OWNER), store, datanet_id)
    assert published.version_id == 1
    loaded = load_published_manifest(curator, store, datanet_id, 1)
    assert loaded.manifest == manifest and loaded.merkle_root == published.merkle_root

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="is not empty"):
        export_version(store, loaded, busy)
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    exported = export_version(store, loaded, tmp_path / "empty")
    assert sorted(p.name for p in exported.files) == [f"contribution-{accepted}.jsonl", "manifest.json"]


def test_accepting_checks_the_declared_content(setup: tuple[LocalChain, LocalStore, int]) -> None:
    devnet, store, datanet_id = setup
    data = jsonl("one two three four", "five six seven eight")
    cid = store.add(data)
    liar = devnet.client(3).datanets
    contribution_id = liar.contribute(datanet_id, cid, len(data), 5).created_id  # declares 5, holds 2
    assert contribution_id is not None
    with pytest.raises(DataError, match="holds 2 records but declares 5"):
        review_contribution(devnet.client(CURATOR), store, contribution_id, True, verify_content=True)
    assert liar.get_contribution(contribution_id).status == ContributionStatus.PENDING
    with pytest.raises(ChainError, match="is not a curator"):
        review_contribution(devnet.client(3), store, contribution_id, False)


def test_publishing_needs_every_accepted_file(
    setup: tuple[LocalChain, LocalStore, int], tmp_path: Path
) -> None:
    devnet, store, datanet_id = setup
    contribution_id = submit(devnet, store, datanet_id, 3, jsonl("red green blue"))
    review_contribution(devnet.client(CURATOR), store, contribution_id, True)
    cid = devnet.client(0).datanets.get_contribution(contribution_id).content_cid
    (store.objects / cid).unlink()
    with pytest.raises(StorageError, match=f"cannot publish datanet {datanet_id}: {cid} is not in"):
        publish_version(devnet.client(OWNER), store, datanet_id)
    assert devnet.client(0).datanets.version_count(datanet_id) == 0


def test_a_manifest_that_disagrees_with_the_chain_is_refused(
    setup: tuple[LocalChain, LocalStore, int], tmp_path: Path
) -> None:
    devnet, store, datanet_id = setup
    contribution_id = submit(devnet, store, datanet_id, 3, jsonl("cyan magenta yellow"))
    review_contribution(devnet.client(CURATOR), store, contribution_id, True)
    owner = devnet.client(OWNER)
    manifest = manifest_from_chain(
        owner, datanet_id, fetch_metadata(store, datanet_id, owner.datanets.get_datanet(datanet_id))
    )
    manifest_cid = store.add(manifest.canonical_json())
    owner.datanets.publish_version(datanet_id, b"\x01" * 32, manifest_cid, 1, 1)  # a wrong root
    with pytest.raises(DataError, match="Merkle root .* but the chain recorded 0x0101"):
        load_published_manifest(owner, store, datanet_id, 1)
    with pytest.raises(ChainError, match="has no version 2"):
        load_published_manifest(owner, store, datanet_id, 2)


def test_a_manifest_entry_naming_another_contributor_is_refused(
    setup: tuple[LocalChain, LocalStore, int],
) -> None:
    """The owner publishes a self-consistent manifest (root, counts) whose entry names the owner as the
    contributor of someone else's file, to redirect that contributor's payouts: every reader refuses it."""
    devnet, store, datanet_id = setup
    contribution_id = submit(devnet, store, datanet_id, 3, jsonl("orange purple brown"))
    review_contribution(devnet.client(CURATOR), store, contribution_id, True)
    owner = devnet.client(OWNER)
    honest = manifest_from_chain(
        owner, datanet_id, fetch_metadata(store, datanet_id, owner.datanets.get_datanet(datanet_id))
    )
    entry = honest.contributions[0].model_copy(update={"contributor": owner.address})
    forged = honest.model_copy(update={"contributions": [entry]})
    root = bytes.fromhex(forged.merkle_root()[2:])
    owner.datanets.publish_version(datanet_id, root, store.add(forged.canonical_json()), 1, 1)
    with pytest.raises(ManifestEntryMismatch) as refused:
        load_published_manifest(devnet.client(CURATOR), store, datanet_id, 1)
    assert (
        f"contribution #{contribution_id} under {owner.address} but on-chain it was contributed by "
        f"{devnet.client(3).address}" in str(refused.value)
    )


def test_a_copied_cid_is_another_contribution(setup: tuple[LocalChain, LocalStore, int]) -> None:
    """Front-running a contributor's CID neither blocks nor replaces the original: (contributor, CID)."""
    devnet, store, datanet_id = setup
    data = jsonl("silver gold bronze")
    original = submit(devnet, store, datanet_id, 3, data)
    copy = devnet.client(4).datanets.contribute(datanet_id, store.add(data), len(data), 1).created_id
    registry = devnet.client(0).datanets
    cid = registry.get_contribution(original).content_cid
    assert registry.contribution_id_by_cid(datanet_id, devnet.client(3).address, cid) == original
    assert registry.contribution_id_by_cid(datanet_id, devnet.client(4).address, cid) == copy != original
    assert registry.contribution_id_by_cid(datanet_id, devnet.client(5).address, cid) == 0
    with pytest.raises(DataError, match=f"already submitted this exact file .* #{original}"):
        author = devnet.client(3)
        check_submittable(author, prepare_contribution_data(author, store, datanet_id, data))
