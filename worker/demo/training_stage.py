"""Stage 2: a model is registered on the published version and training is requested; the worker daemon
(the same code as `openledger worker run`) stakes, claims, trains, attributes, posts the result, and after
the challenge window finalizes it: the model goes live. Then an attack fails: a stranger tries to post a
1-wei training job on the live model (its result would have made the stranger's worker the provider, who
then pays the contributor pool to itself); the contract refuses anyone but the owner or whom it approved."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.markup import escape

from worker.attribution import AttributionReport
from worker.chain.bindings import TxResult
from worker.chain.reverts import TransactionReverted
from worker.chain.types import JobStatus
from worker.daemon import WorkerDaemon, WorkerSettings, worker_home
from worker.data.sentiment_corpus import LABELS
from worker.demo.actors import Actors
from worker.demo.datanet_stage import PublishedDatanet
from worker.demo.journal import Journal
from worker.jobs import contributor_weights
from worker.storage import ContentStore, verified_fetch
from worker.train import TrainingSpec
from worker.units import OPEN

STAGE = "training"
PRICE_PER_INFERENCE = 2 * OPEN
BOUNTY = 500 * OPEN
WORKER_STAKE = 1_000 * OPEN
STRANGER = 10  # a dev account with no role in the demo: anyone at all
ATTACK_GAS = 200_000  # sent without estimation, so the attempt is mined and reverts on-chain


@dataclass(frozen=True)
class LiveModel:
    model_id: int
    job_id: int
    adapter_cid: str
    metrics: dict[str, Any]
    weights: dict[str, int]  # contributor address -> ppm of the positive model-level attribution
    flagged: list[str]
    report_cid: str


def demo_spec() -> TrainingSpec:
    return TrainingSpec(
        base_model="minilm",
        labels=LABELS,
        lora_r=8,
        lora_alpha=16,
        lr=2e-3,
        epochs=4,
        batch_size=16,
        max_length=48,
        seed=0,
        validation_fraction=0.2,
        cpu_threads=2,
    )


def register_and_request(
    actors: Actors, store: ContentStore, journal: Journal, published: PublishedDatanet
) -> tuple[int, int]:
    owner = actors.client(actors.model_owner)
    spec_cid = store.add(demo_spec().to_json().encode())
    model = journal.tx(
        STAGE,
        "model-owner",
        f"registerModel minilm on datanet {published.datanet_id} v{published.version_id}",
        owner.models.register_model(
            published.datanet_id, published.version_id, "minilm", spec_cid, PRICE_PER_INFERENCE
        ),
    )
    assert model.created_id is not None
    job = journal.tx(
        STAGE,
        "model-owner",
        f"requestTraining (bounty {BOUNTY // OPEN} OPEN)",
        owner.models.request_training(model.created_id, BOUNTY),
    )
    assert job.created_id is not None
    return model.created_id, job.created_id


def _worker_daemon(actors: Actors, store: ContentStore, home: Path) -> WorkerDaemon:
    client = actors.client(actors.worker)
    settings = WorkerSettings(
        home=worker_home(home, client),
        poll_interval=0.2,
        max_wait=0.5,
        stake=WORKER_STAKE,
        progress=True,
    )
    return WorkerDaemon.open(client, store, settings)


def _journal_worker_txs(daemon: WorkerDaemon, journal: Journal, seen: set[str], stage: str = STAGE) -> None:
    """The daemon's transactions, from its outbox (each was recorded before it was broadcast)."""
    w3 = daemon.ctx.client.w3
    for entry in daemon.ctx.outbox.entries():
        if entry.tx_hash in seen or entry.state != "mined":
            continue
        seen.add(entry.tx_hash)
        receipt = w3.eth.get_transaction_receipt(entry.tx_hash)  # type: ignore[arg-type]
        tx = TxResult(entry.tx_hash, int(receipt["blockNumber"]), int(receipt["gasUsed"]))
        journal.tx(stage, "worker", f"{entry.action} ({entry.task_id})", tx)


def _live_model(actors: Actors, store: ContentStore, model_id: int, job_id: int) -> LiveModel:
    job = actors.client(actors.model_owner).models.get_job(job_id)
    report = AttributionReport.from_dict(json.loads(verified_fetch(store, job.result.report_cid)))
    metrics = json.loads(verified_fetch(store, job.result.metrics_cid))
    weights, flagged = contributor_weights(report)
    return LiveModel(
        model_id, job_id, job.result.adapter_cid, metrics, weights, flagged, job.result.report_cid
    )


def stranger_requests_training(actors: Actors, journal: Journal, model_id: int) -> None:
    """The attack of issue 12, sent as the attacker would (straight to the contract, no client-side check):
    it must revert NotApprovedRequester, else the demo stops."""
    stranger = actors.client(STRANGER)
    try:
        stranger.models.transact("requestTraining", model_id, 1, gas=ATTACK_GAS)
    except TransactionReverted as exc:
        if exc.error_name != "NotApprovedRequester" or exc.tx_hash is None:
            raise
        receipt = stranger.w3.eth.get_transaction_receipt(exc.tx_hash)  # type: ignore[arg-type]
        tx = TxResult(exc.tx_hash, int(receipt["blockNumber"]), int(receipt["gasUsed"]))
        journal.tx("attack", "stranger", f"requestTraining(model {model_id}, 1 wei): reverted", tx)
        journal.note(
            f"[bold red]attack failed[/]: {escape(str(exc.revert))}; only the model owner (or an address "
            "it approves) posts training, so no stranger's result can take over the live model"
        )
        return
    raise AssertionError(f"a stranger's requestTraining on model {model_id} was accepted")


def run(
    actors: Actors, store: ContentStore, journal: Journal, published: PublishedDatanet, home: Path
) -> LiveModel:
    journal.stage("2. Model: register, request training; the worker daemon claims, trains, attributes, posts")
    model_id, job_id = register_and_request(actors, store, journal, published)
    daemon = _worker_daemon(actors, store, home)
    seen: set[str] = set()
    models = actors.client(actors.model_owner).models
    journal.note(f"worker daemon started (state {daemon.ctx.settings.db_path})")
    daemon.run(until=lambda: models.get_job(job_id).status == JobStatus.SUBMITTED, timeout=1800)
    _journal_worker_txs(daemon, journal, seen)
    [task] = [t for t in daemon.ctx.tasks.all() if t.subject == job_id]
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in task.data.get("timings", {}).items())
    journal.note(f"worker stages: {timings}")
    window = models.params().challenge_window
    actors.chain.dev.increase_time(window + 1)
    journal.note(f"no challenge within the {window} s window (Anvil clock advanced)")
    daemon.run(until=lambda: daemon.ctx.tasks.get(task.id).state == "done", timeout=300)  # type: ignore[union-attr]
    _journal_worker_txs(daemon, journal, seen)
    stranger_requests_training(actors, journal, model_id)
    return _live_model(actors, store, model_id, job_id)
