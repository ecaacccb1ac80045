"""Stage 4: lineage. Two contributors publish a small follow-up Datanet; the model owner registers a model
on it fine-tuned from the live one (registerDerivedModel): the worker daemon trains it starting from the
parent's adapter (fetched by CID, one short epoch), the model goes live, a user pays for answers, and the
epoch passes the governance-set lineage share of its payouts to the parent's contributors by the parent's
own attribution report (so contributors who never touched the follow-up Datanet are paid too); `verify
epoch` agrees and everyone claims. Small on purpose: a few seconds on top of the demo.
"""

from __future__ import annotations

import time
from pathlib import Path

from worker.billing import ReceiptLog
from worker.canonical import canonical_json
from worker.chain.types import JobStatus
from worker.config import load_settings
from worker.data.sentiment_corpus import LABELS, sentiment_records
from worker.datanet.contributing import prepare_contribution_data, upload_and_submit
from worker.datanet.creating import build_metadata
from worker.datanet.creating import create_datanet as create_on_chain
from worker.datanet.curation import review_contribution
from worker.datanet.publishing import publish_version
from worker.demo import rewards_stage
from worker.demo.actors import Actors
from worker.demo.datanet_stage import POLICY
from worker.demo.journal import Journal
from worker.demo.rewards_stage import EpochPayout
from worker.demo.training_stage import (
    BOUNTY,
    PRICE_PER_INFERENCE,
    LiveModel,
    _journal_worker_txs,
    _live_model,
    _worker_daemon,
)
from worker.jobs.models import derived_spec, register_derived_model
from worker.rewards import load_report
from worker.serve import InferenceService, ServerThread, create_app
from worker.storage import ContentStore
from worker.units import OPEN

STAGE = "lineage"
CHILD_EPOCHS = 1  # the child continues the parent's adapter: one short pass keeps the demo quick
FOLLOWUP_START = 300  # the first Datanet holds corpus[0:300]; the rewards questions come from the tail
FOLLOWUP_RECORDS = 12  # per contributor


def followup_datanet(actors: Actors, store: ContentStore, journal: Journal) -> tuple[int, int]:
    """A small Datanet from the first two contributors only (tweets the first Datanet does not hold)."""
    metadata = build_metadata(
        name="tweet-sentiment-followup",
        description="More labelled tweets, for a model fine-tuned from the tweet-sentiment one.",
        task="classification",
        labels=LABELS,
        licence="CC-BY-4.0",
    )
    owner, curator = actors.client(actors.datanet_owner), actors.client(actors.curator)
    created = create_on_chain(owner, store, metadata, POLICY, [curator.address])
    journal.tx(STAGE, "datanet-owner", "createDatanet tweet-sentiment-followup", created.tx)
    corpus = sentiment_records(seed=7)[FOLLOWUP_START:]
    for position, index in enumerate(actors.contributors[:2]):
        records = corpus[position * FOLLOWUP_RECORDS : (position + 1) * FOLLOWUP_RECORDS]
        data = b"".join(canonical_json(r) + b"\n" for r in records)
        client = actors.client(index)
        prepared = prepare_contribution_data(client, store, created.datanet_id, data, actors.name(index))
        submitted = upload_and_submit(client, store, prepared)
        journal.tx(STAGE, actors.name(index), f"contribute {len(records)} records", submitted.tx)
        reviewed = review_contribution(curator, store, submitted.contribution_id, True)
        journal.tx(STAGE, "curator", f"review #{submitted.contribution_id}: accept", reviewed.tx)
    published = publish_version(owner, store, created.datanet_id)
    count = published.manifest.record_count
    journal.tx(STAGE, "datanet-owner", f"publishVersion ({count} records)", published.tx)
    return created.datanet_id, published.version_id


def train_derived(
    actors: Actors, store: ContentStore, journal: Journal, parent: LiveModel, home: Path
) -> LiveModel:
    owner = actors.client(actors.model_owner)
    datanet_id, version_id = followup_datanet(actors, store, journal)
    spec = derived_spec(owner, store, parent.model_id).replace(epochs=CHILD_EPOCHS)
    registered = register_derived_model(
        owner, store, datanet_id, version_id, spec, PRICE_PER_INFERENCE, parent.model_id
    )
    journal.tx(
        STAGE, "model-owner", f"registerDerivedModel from model {parent.model_id} (its job {parent.job_id})",
        registered.tx,
    )  # fmt: skip
    job = journal.tx(
        STAGE, "model-owner", f"requestTraining (bounty {BOUNTY // OPEN} OPEN)",
        owner.models.request_training(registered.model_id, BOUNTY),
    )  # fmt: skip
    job_id = int(job.created_id or 0)
    start = spec.start_from[:16]
    journal.note(f"model {registered.model_id} starts from adapter {start}… ({CHILD_EPOCHS} epoch)")
    daemon = _worker_daemon(actors, store, home)
    seen = {entry.tx_hash for entry in daemon.ctx.outbox.entries()}  # the parent's job, journalled before
    models = owner.models
    daemon.run(until=lambda: models.get_job(job_id).status == JobStatus.SUBMITTED, timeout=1800)
    window = models.params().challenge_window
    actors.chain.dev.increase_time(window + 1)
    [task] = [t for t in daemon.ctx.tasks.all() if t.subject == job_id]
    daemon.run(until=lambda: daemon.ctx.tasks.get(task.id).state == "done", timeout=300)  # type: ignore[union-attr]
    _journal_worker_txs(daemon, journal, seen, STAGE)
    return _live_model(actors, store, registered.model_id, job_id)


def pay_upstream(actors: Actors, store: ContentStore, journal: Journal, child: LiveModel) -> EpochPayout:
    worker = actors.client(actors.worker)
    home = load_settings().home
    receipts = ReceiptLog.for_deployment(worker.deployment, home)
    service = InferenceService(worker, store, receipts, home / "models")
    service.catalog.get(child.model_id)
    with ServerThread(create_app(service)) as server:
        rewards_stage.ask(actors, journal, child, server)
    epoch = rewards_stage.settle(actors, store, journal, child, receipts, stage=STAGE)
    report = load_report(store, worker.vault.report_cid(child.model_id, epoch))
    if report.lineage is not None:
        for level in report.lineage.levels:
            journal.note(
                f"lineage: {level.kept / OPEN:.4f} OPEN of this epoch's {report.total / OPEN:.4f} OPEN "
                f"goes to model {level.model_id}'s contributors ({report.lineage.share_bps / 100:g}% "
                f"share) by its job {level.job_id}'s attribution report: {len(level.paid)} paid"
            )
    payout = rewards_stage.claim_all(actors, store, journal, child, epoch, stage=STAGE)
    receipts.close()
    return payout


def run(actors: Actors, store: ContentStore, journal: Journal, parent: LiveModel, home: Path) -> EpochPayout:
    journal.stage("4. Lineage: a model fine-tuned from the live one pays its parent's contributors")
    started = time.monotonic()
    child = train_derived(actors, store, journal, parent, home)
    payout = pay_upstream(actors, store, journal, child)
    journal.note(f"lineage stage: {time.monotonic() - started:.1f} s")
    return payout
