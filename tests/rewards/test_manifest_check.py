"""Before paying, the worker checks every entry of the model's manifest against DatanetRegistry: an owner
who lists someone else's contribution under another address gets that address excluded (reported in the
epoch report), and `verify epoch` catches a poster that pays it anyway. The check is pinned to a block,
so a verifier reading later reaches the same verdict."""

from __future__ import annotations

from epoch_helpers import EPOCH, TEXTS
from paidmodel import CONTRIBUTORS, CURATOR, DATANET_OWNER, WORKER, second_live_model

from worker.canonical import canonical_json
from worker.chain.types import EpochStatus
from worker.data.manifest import ContributionEntry, DatasetManifest
from worker.datanet.contributing import prepare_contribution_data, upload_and_submit
from worker.datanet.curation import review_contribution
from worker.datanet.entries import verify_manifest_entries
from worker.datanet.versions import load_published_manifest
from worker.rewards import EpochService, build_report, load_report, verify_epoch


def honest_manifest(live) -> DatasetManifest:
    model = live.client(0).models.get_model(live.model_id)
    return load_published_manifest(live.client(0), live.store, model.datanet_id, model.version_id).manifest


def publish_redirected_version(live) -> tuple[int, ContributionEntry]:
    """The Datanet owner publishes a version listing contributor 1's contribution under contributor 0."""
    honest = honest_manifest(live)
    thief, victim = live.contributor_addresses[:2]
    entries = [e.model_copy(update={"contributor": thief}) if e.contributor == victim else e
               for e in honest.contributions]
    doctored = DatasetManifest(datanet_id=honest.datanet_id, contributions=entries)
    owner = live.client(DATANET_OWNER)
    version = owner.datanets.publish_version(
        honest.datanet_id,
        bytes.fromhex(doctored.merkle_root()[2:]),
        live.store.add(doctored.canonical_json()),
        doctored.record_count,
        doctored.contribution_count,
    ).created_id
    redirected = next(e for e in entries if e.contributor == thief and e not in honest.contributions)
    return int(version or 0), redirected


def paid_answers(serving, model_id: int) -> None:
    user = serving.user()
    payment = user.pay(model_id, len(TEXTS)).created_id
    for index, text in enumerate(TEXTS):
        user.predict(model_id, text, payment, index)


def test_entries_are_checked_against_the_chain_at_a_block(live) -> None:
    honest = honest_manifest(live)
    client = live.client(0)
    assert verify_manifest_entries(client, honest) == []
    contributor = live.client(CONTRIBUTORS[0])
    rows = [{"text": f"brand new words {i}", "label": "pos"} for i in range(3)]
    data = b"".join(canonical_json(row) + b"\n" for row in rows)
    prepared = prepare_contribution_data(contributor, live.store, honest.datanet_id, data)
    new = upload_and_submit(contributor, live.store, prepared).contribution_id
    entry = ContributionEntry(
        contribution_id=new,
        contributor=contributor.address,
        cid=prepared.cid,
        record_count=prepared.record_count,
        byte_size=prepared.byte_size,
    )
    _, second, third = honest.contributions
    forged = [
        entry,
        second.model_copy(update={"cid": third.cid}),  # another contribution's content
        ContributionEntry(**{**third.model_dump(), "contribution_id": 999}),
    ]
    manifest = DatasetManifest(datanet_id=honest.datanet_id, contributions=forged)
    pending_block = live.chain.w3.eth.block_number
    reasons = {m.entry.contribution_id: m.reasons for m in verify_manifest_entries(client, manifest)}
    assert reasons[new] == ("is pending, not accepted",)
    assert reasons[second.contribution_id] == (f"has CID {second.cid}",)
    assert reasons[999][0].startswith("does not exist")

    review_contribution(live.client(CURATOR), live.store, new, True)
    later = {m.entry.contribution_id for m in verify_manifest_entries(client, manifest)}
    assert new not in later  # accepted now...
    pinned = {m.entry.contribution_id for m in verify_manifest_entries(client, manifest, pending_block)}
    assert new in pinned  # ...but not at the block an epoch was checked at


def test_a_redirected_entry_excludes_its_address_and_the_report_says_so(serving) -> None:
    live = serving.live
    version, redirected = publish_redirected_version(live)
    model_id = second_live_model(live, version_id=version)
    paid_answers(serving, model_id)
    service = EpochService(live.client(WORKER), live.store, serving.receipts, EPOCH, models=[model_id])
    service.tick()
    live.chain.dev.increase_time(EPOCH)
    events = service.tick()
    assert [e.action for e in events] == ["closed", "posted"] and "1 manifest entr" in events[1].detail

    vault = live.client(0).vault
    report = load_report(live.store, vault.report_cid(model_id, 0))
    [excluded] = report.manifest.excluded
    thief, victim, honest = live.contributor_addresses
    assert (excluded.contribution_id, excluded.contributor) == (redirected.contribution_id, thief)
    assert excluded.reasons == (f"was contributed by {victim}",)
    assert set(report.amounts) <= {honest} and set(report.excluded) <= {thief, victim}
    assert report.excluded  # the attribution did credit them: their shares stay in the pool
    assert report.value == report.receipts_total + sum(report.excluded.values()) + report.dust
    assert vault.get_epoch(model_id, 0).total == report.total
    assert verify_epoch(live.client(0), live.store, model_id, 0).ok


def test_verify_catches_a_poster_that_pays_an_excluded_address(serving) -> None:
    live, worker = serving.live, serving.live.client(WORKER)
    version, _ = publish_redirected_version(live)
    model_id = second_live_model(live, version_id=version)
    paid_answers(serving, model_id)
    receipts = serving.receipts.pending(model_id)
    payments = {r.payment_id: worker.vault.get_payment(r.payment_id) for r in receipts}
    unchecked = build_report(
        live.chain.w3.eth.chain_id, worker.vault.address, model_id, 0, worker.address, receipts, payments
    )
    thief = live.contributor_addresses[0]
    assert unchecked.amounts.get(thief)
    cid = live.store.add(unchecked.to_bytes())
    worker.vault.post_epoch_root(model_id, 0, unchecked.root, unchecked.total, cid)
    assert worker.vault.get_epoch(model_id, 0).status == EpochStatus.POSTED
    result = verify_epoch(live.client(0), live.store, model_id, 0)
    assert not result.ok and any(thief in p and "may not be paid" in p for p in result.problems)
