"""Stage 2: a model is registered on the published version; a staked worker trains it, attributes it,
posts the result, and after the challenge window the model goes live."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.attribution import attribute
from worker.data import DatasetManifest, canonical_json, load_version
from worker.data.sentiment_corpus import LABELS, sentiment_records
from worker.demo.actors import OPEN, Actors
from worker.demo.datanet_stage import PublishedDatanet
from worker.demo.journal import Journal
from worker.merkle.standard_tree import StandardMerkleTree
from worker.storage import ContentStore, verified_fetch
from worker.train import TrainingSpec, train

STAGE = "training"
PRICE_PER_INFERENCE = 2 * OPEN
BOUNTY = 500 * OPEN
WORKER_STAKE = 1_000 * OPEN
PPM = 1_000_000
QUERIES = 20
WEIGHT_LEAF = ["address", "uint256"]  # (contributor, share of positive attribution in parts per million)


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


def _training_records(
    actors: Actors, store: ContentStore, model_id: int
) -> tuple[TrainingSpec, list[dict], str]:
    """Everything the worker trains on comes from the chain and verified content, nothing else."""
    client = actors.client(actors.worker)
    model = client.models.get_model(model_id)
    version = client.datanets.get_version(model.datanet_id, model.version_id)
    root = "0x" + bytes(version.merkle_root).hex()
    manifest = DatasetManifest.from_json(verified_fetch(store, version.manifest_cid))
    rows = load_version(manifest, store, expected_root=root)
    spec = TrainingSpec.from_json(verified_fetch(store, model.training_spec_cid).decode())
    records = [
        {**r.record, "contributor": r.contributor, "contribution": str(r.contribution_id)} for r in rows
    ]
    return spec, records, root


def _weights(report: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
    contributors = report["model_level"]["contributors"]
    weights = {row["key"]: int(row["weight"] * PPM) for row in contributors if row["weight"] > 0}
    return weights, [row["key"] for row in contributors if row["flagged"]]


def _upload_dir(store: ContentStore, directory: Path) -> str:
    """A bundle: a canonical JSON listing each file's CID, itself content-addressed."""
    files = {
        str(p.relative_to(directory)): store.add(p.read_bytes())
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
    return store.add(canonical_json({"format": "openledger.bundle/1", "files": files}))


def train_and_attribute(
    actors: Actors, store: ContentStore, journal: Journal, model_id: int, workdir: Path
) -> tuple[str, str, str, dict[str, Any], dict[str, int], list[str]]:
    spec, records, root = _training_records(actors, store, model_id)
    journal.note(f"worker fetched {len(records)} records (every CID verified, manifest root {root[:12]}…)")
    outcome = train(spec, records, workdir / "model", dataset_root=root, progress=True)
    final = outcome.metrics.get("final", {})
    journal.note(
        f"trained in {outcome.metrics.get('seconds', 0):.0f} s: validation accuracy "
        f"{final.get('val_accuracy', float('nan')):.3f}, loss {final.get('val_loss', float('nan')):.3f}"
    )
    queries = sentiment_records(seed=7)[-QUERIES:]  # tweets no contributor submitted
    report = attribute(workdir / "model", records, queries).to_dict()
    weights, flagged = _weights(report)
    adapter_cid = _upload_dir(store, workdir / "model")
    metrics_cid = store.add(canonical_json(outcome.metrics))
    report_cid = store.add(canonical_json(report))
    return adapter_cid, metrics_cid, report_cid, outcome.metrics, weights, flagged


def run(actors: Actors, store: ContentStore, journal: Journal, published: PublishedDatanet) -> LiveModel:
    journal.stage("2. Model: register, train, attribute, post, finalize")
    model_id, job_id = register_and_request(actors, store, journal, published)
    worker = actors.client(actors.worker)
    journal.tx(
        STAGE,
        "worker",
        f"registerWorker (stake {WORKER_STAKE // OPEN} OPEN)",
        worker.workers.register_worker(WORKER_STAKE, "http://127.0.0.1:8000"),
    )
    journal.tx(STAGE, "worker", f"claimJob #{job_id}", worker.models.claim_job(job_id))
    with tempfile.TemporaryDirectory(prefix="openledger-demo-") as tmp:
        adapter, metrics_cid, report_cid, metrics, weights, flagged = train_and_attribute(
            actors, store, journal, model_id, Path(tmp)
        )
    tree = StandardMerkleTree.of([[a, w] for a, w in sorted(weights.items())], WEIGHT_LEAF)
    journal.tx(
        STAGE,
        "worker",
        f"submitResult adapter {adapter[:16]}… report {report_cid[:16]}…",
        worker.models.submit_result(job_id, adapter, metrics_cid, bytes.fromhex(tree.root[2:]), report_cid),
    )
    window = worker.models.params().challenge_window
    worker.dev.increase_time(window + 1)
    journal.note(f"no challenge within the {window} s window (Anvil clock advanced)")
    journal.tx(
        STAGE, "anyone", f"finalize job #{job_id}: model {model_id} goes live", worker.models.finalize(job_id)
    )
    journal.tx(STAGE, "worker", "withdraw the bounty", worker.models.withdraw())
    return LiveModel(model_id, job_id, adapter, metrics, weights, flagged, report_cid)
