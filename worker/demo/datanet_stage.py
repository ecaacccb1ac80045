"""Stage 1: a community builds a Datanet of real labelled tweets, with curation that catches a copy."""

from __future__ import annotations

from dataclasses import dataclass

from worker.canonical import canonical_json
from worker.chain.types import Policy
from worker.data import DuplicateIndex
from worker.data.manifest import DatasetManifest
from worker.data.metadata import DatanetMetadata
from worker.data.sentiment_corpus import LABELS, sentiment_records
from worker.datanet.contributing import check_submittable, prepare_contribution_data, upload_and_submit
from worker.datanet.creating import build_metadata
from worker.datanet.creating import create_datanet as create_on_chain
from worker.datanet.curation import review_contribution
from worker.datanet.publishing import publish_version
from worker.demo.actors import Actors
from worker.demo.journal import Journal
from worker.storage import ContentStore
from worker.units import OPEN

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
    metadata = build_metadata(
        name="tweet-sentiment",
        description="Tweets labelled negative/positive by their contributors.",
        task="classification",
        labels=LABELS,
        licence="CC-BY-4.0",
    )
    owner = actors.client(actors.datanet_owner)
    curator = actors.client(actors.curator).address
    created = create_on_chain(owner, store, metadata, POLICY, [curator])
    journal.tx(STAGE, "datanet-owner", f"createDatanet (metadata {created.metadata_cid[:16]}…)", created.tx)
    return created.datanet_id, metadata


def contribute(actors: Actors, store: ContentStore, journal: Journal, datanet_id: int) -> list[Submission]:
    """What `openledger contribute` does: validate (the demo's data must be clean), upload, submit."""
    submissions = []
    for position, (index, records) in enumerate(zip(actors.contributors, _files(actors), strict=True)):
        client = actors.client(index)
        prepared = prepare_contribution_data(client, store, datanet_id, _jsonl(records), actors.name(index))
        check_submittable(client, prepared)
        permit = position == 1  # one contributor pays the stake by EIP-2612 permit
        submitted = upload_and_submit(client, store, prepared, permit=permit)
        how = "contributeWithPermit" if permit else "contribute"
        journal.tx(
            STAGE, actors.name(index), f"{how} {len(records)} records ({submitted.cid[:16]}…)", submitted.tx
        )
        submissions.append(
            Submission(index, records, submitted.contribution_id, submitted.cid, submitted.byte_size)
        )
    return submissions


def curate(actors: Actors, store: ContentStore, journal: Journal, submissions: list[Submission]) -> list[int]:
    """The curator accepts clean files and rejects any that duplicates already accepted records."""
    accepted_index, rejected = DuplicateIndex(), []
    curator = actors.client(actors.curator)
    for sub in submissions:
        matches = accepted_index.find(sub.records)
        if len(matches) > len(sub.records) // 2:
            details = {
                "duplicates": len(matches),
                "of": len(sub.records),
                "matches_contribution": matches[0].contribution_id,
            }
            review = review_contribution(
                curator, store, sub.contribution_id, False, reason="duplicate", details=details
            )
            journal.tx(
                STAGE,
                "curator",
                f"review #{sub.contribution_id}: reject ({len(matches)} duplicates)",
                review.tx,
            )
            rejected.append(sub.contribution_id)
        else:
            accepted_index.add(sub.contribution_id, sub.records)
            review = review_contribution(curator, store, sub.contribution_id, True, verify_content=True)
            journal.tx(STAGE, "curator", f"review #{sub.contribution_id}: accept", review.tx)
    return rejected


def publish(
    actors: Actors, store: ContentStore, journal: Journal, datanet_id: int
) -> tuple[int, DatasetManifest, str]:
    """What `openledger publish-version` does: the manifest of every contribution accepted on-chain."""
    published = publish_version(actors.client(actors.datanet_owner), store, datanet_id)
    manifest = published.manifest
    journal.tx(
        STAGE,
        "datanet-owner",
        f"publishVersion ({manifest.record_count} records, root {published.merkle_root[:12]}…)",
        published.tx,
    )
    return published.version_id, manifest, published.manifest_cid


def run(actors: Actors, store: ContentStore, journal: Journal) -> PublishedDatanet:
    journal.stage("1. Datanet: create, contribute, curate, publish")
    datanet_id, metadata = create_datanet(actors, store, journal)
    submissions = contribute(actors, store, journal, datanet_id)
    rejected = curate(actors, store, journal, submissions)
    version_id, manifest, manifest_cid = publish(actors, store, journal, datanet_id)
    treasury = actors.client(actors.datanet_owner).address
    journal.note(
        f"datanet {datanet_id} version {version_id}: {manifest.contribution_count} contributions, "
        f"{manifest.record_count} records; rejected {rejected} "
        f"(slashed stake went to the datanet treasury {treasury[:10]}…)"
    )
    return PublishedDatanet(datanet_id, version_id, manifest, manifest_cid, metadata, rejected)
