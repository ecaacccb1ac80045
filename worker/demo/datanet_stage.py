"""Stage 1: a community builds a Datanet of real labelled tweets, with curation that catches a copy."""

from __future__ import annotations

from dataclasses import dataclass

from worker.chain.types import Policy
from worker.data import (
    ContributionEntry,
    DatanetMetadata,
    DatasetManifest,
    DuplicateIndex,
    canonical_json,
    validate_jsonl,
)
from worker.data.sentiment_corpus import LABELS, sentiment_records
from worker.demo.actors import OPEN, Actors
from worker.demo.journal import Journal
from worker.storage import ContentStore

STAGE = "datanet"
RECORDS_PER_CONTRIBUTOR = 100
POLICY = Policy(stake_per_contribution=10 * OPEN, review_period=3600, slash_bps=5_000)


@dataclass(frozen=True)
class Submission:
    contributor: int
    records: list[dict[str, str]]
    contribution_id: int = 0
    cid: str = ""
    byte_size: int = 0


@dataclass(frozen=True)
class PublishedDatanet:
    datanet_id: int
    version_id: int
    manifest: DatasetManifest
    manifest_cid: str
    metadata: DatanetMetadata
    rejected: list[int]


def _files(actors: Actors) -> list[list[dict[str, str]]]:
    """Distinct tweets for the honest contributors; the last one re-uploads the first one's file, lightly
    edited (the copy a curator must catch)."""
    corpus = sentiment_records(seed=7)
    honest = actors.contributors[:-1]
    files = [
        corpus[i * RECORDS_PER_CONTRIBUTOR : (i + 1) * RECORDS_PER_CONTRIBUTOR] for i in range(len(honest))
    ]
    copied = [{"text": r["text"].upper() + "!", "label": r["label"]} for r in files[0]]
    return [*files, copied]


def _jsonl(records: list[dict[str, str]]) -> bytes:
    return b"".join(canonical_json(r) + b"\n" for r in records)


def create_datanet(actors: Actors, store: ContentStore, journal: Journal) -> tuple[int, DatanetMetadata]:
    metadata = DatanetMetadata(
        name="tweet-sentiment",
        description="Tweets labelled negative/positive by their contributors.",
        task="classification",
        labels=list(LABELS),
        licence="CC-BY-4.0",
    )
    metadata_cid = store.add(metadata.canonical_json())
    owner = actors.client(actors.datanet_owner)
    result = journal.tx(
        STAGE,
        "datanet-owner",
        f"createDatanet (metadata {metadata_cid[:16]}…)",
        owner.datanets.create_datanet(
            metadata_cid, owner.address, POLICY, [actors.client(actors.curator).address]
        ),
    )
    assert result.created_id is not None
    return result.created_id, metadata


def contribute(
    actors: Actors, store: ContentStore, journal: Journal, datanet_id: int, metadata: DatanetMetadata
) -> list[Submission]:
    submissions = []
    for position, (index, records) in enumerate(zip(actors.contributors, _files(actors), strict=True)):
        data = _jsonl(records)
        report = validate_jsonl(data, metadata.record_schema(), metadata.limits)
        if not report.ok:  # the CLI refuses before any gas is spent; the demo's data must be clean
            raise AssertionError(report.render())
        cid = store.add(data)
        client = actors.client(index)
        submit = client.datanets.contribute_with_permit if position == 1 else client.datanets.contribute
        how = "contributeWithPermit" if position == 1 else "contribute"
        result = journal.tx(
            STAGE,
            actors.name(index),
            f"{how} {len(records)} records ({cid[:16]}…)",
            submit(datanet_id, cid, len(data), len(records)),
        )
        assert result.created_id is not None
        submissions.append(Submission(index, records, result.created_id, cid, len(data)))
    return submissions


def curate(actors: Actors, store: ContentStore, journal: Journal, submissions: list[Submission]) -> list[int]:
    """The curator accepts clean files and rejects any that duplicates already accepted records."""
    accepted_index, rejected = DuplicateIndex(), []
    curator = actors.client(actors.curator)
    for sub in submissions:
        matches = accepted_index.find(sub.records)
        if len(matches) > len(sub.records) // 2:
            reason = {
                "reason": "duplicate",
                "duplicates": len(matches),
                "of": len(sub.records),
                "matches_contribution": matches[0].contribution_id,
            }
            reason_cid = store.add(canonical_json(reason))
            journal.tx(
                STAGE,
                "curator",
                f"review #{sub.contribution_id}: reject ({len(matches)} duplicates)",
                curator.datanets.review(sub.contribution_id, False, reason_cid),
            )
            rejected.append(sub.contribution_id)
        else:
            accepted_index.add(sub.contribution_id, sub.records)
            journal.tx(
                STAGE,
                "curator",
                f"review #{sub.contribution_id}: accept",
                curator.datanets.review(sub.contribution_id, True),
            )
    return rejected


def publish(
    actors: Actors,
    store: ContentStore,
    journal: Journal,
    datanet_id: int,
    submissions: list[Submission],
    rejected: list[int],
) -> tuple[int, DatasetManifest, str]:
    entries = [
        ContributionEntry(
            contribution_id=s.contribution_id,
            contributor=actors.client(s.contributor).address,
            cid=s.cid,
            record_count=len(s.records),
            byte_size=s.byte_size,
        )
        for s in submissions
        if s.contribution_id not in rejected
    ]
    manifest = DatasetManifest(datanet_id=datanet_id, contributions=entries)
    manifest_cid = store.add(manifest.canonical_json())
    owner = actors.client(actors.datanet_owner)
    result = journal.tx(
        STAGE,
        "datanet-owner",
        f"publishVersion ({manifest.record_count} records, root {manifest.merkle_root()[:12]}…)",
        owner.datanets.publish_version(
            datanet_id,
            bytes.fromhex(manifest.merkle_root()[2:]),
            manifest_cid,
            manifest.record_count,
            manifest.contribution_count,
        ),
    )
    assert result.created_id is not None
    return result.created_id, manifest, manifest_cid


def run(actors: Actors, store: ContentStore, journal: Journal) -> PublishedDatanet:
    journal.stage("1. Datanet: create, contribute, curate, publish")
    datanet_id, metadata = create_datanet(actors, store, journal)
    submissions = contribute(actors, store, journal, datanet_id, metadata)
    rejected = curate(actors, store, journal, submissions)
    version_id, manifest, manifest_cid = publish(actors, store, journal, datanet_id, submissions, rejected)
    treasury = actors.client(actors.datanet_owner).address
    journal.note(
        f"datanet {datanet_id} version {version_id}: {manifest.contribution_count} contributions, "
        f"{manifest.record_count} records; rejected {rejected} "
        f"(slashed stake went to the datanet treasury {treasury[:10]}…)"
    )
    return PublishedDatanet(datanet_id, version_id, manifest, manifest_cid, metadata, rejected)
