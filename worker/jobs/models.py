"""Registering a model for training: its spec built from the Datanet's metadata, uploaded to content
storage, and the model bound on-chain to an exact Datanet version (shared by `openledger model register`
and `ape run request_training`); and reading back what a finalized result measured (metrics.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.datanet.state import fetch_metadata, require_datanet
from worker.errors import ChainError, StorageError
from worker.jobs.inputs import load_spec
from worker.storage import ContentStore, verified_fetch
from worker.train import TrainingSpec

MAX_METRICS_BYTES = 1024 * 1024
# Below this validation accuracy a classifier is flagged as weak before it goes live (`model activate`).
WEAK_ACCURACY = 0.6


@dataclass(frozen=True)
class RegisteredModel:
    model_id: int
    spec_cid: str
    spec: TrainingSpec
    tx: TxResult


def spec_for_datanet(
    client: ChainClient,
    store: ContentStore,
    datanet_id: int,
    base_model: str,
    labels: tuple[str, ...] = (),
    epochs: int = 3,
) -> TrainingSpec:
    """A training spec for the Datanet's task, with its labels unless `labels` are given."""
    metadata = fetch_metadata(store, datanet_id, require_datanet(client, datanet_id))
    return TrainingSpec(
        base_model=base_model, task=metadata.task, labels=labels or tuple(metadata.labels), epochs=epochs
    )


def register_model(
    client: ChainClient,
    store: ContentStore,
    datanet_id: int,
    version_id: int,
    spec: TrainingSpec,
    price_per_inference: int,
) -> RegisteredModel:
    """Upload the spec and register a model bound to `datanet_id` version `version_id` (refused before
    gas if the version does not exist)."""
    spec_cid = store.add(spec.to_json().encode())
    tx = client.models.register_model(datanet_id, version_id, spec.base_model, spec_cid, price_per_inference)
    if tx.created_id is None:
        raise ChainError(f"registerModel (tx {tx.tx_hash}) emitted no ModelRegistered event")
    return RegisteredModel(tx.created_id, spec_cid, spec, tx)


def derived_spec(
    client: ChainClient, store: ContentStore, parent_model_id: int, spec: TrainingSpec | None = None
) -> TrainingSpec:
    """The spec of a model fine-tuned from `parent_model_id`: `spec` (default: the parent's own spec, so the
    LoRA shape and labels fit) starting from the adapter of the parent's live job, which registration
    pins."""
    parent = client.models.require_model(parent_model_id)
    if not parent.live_job_id:
        raise ChainError(f"model {parent_model_id} is not live: train and finalize it before deriving")
    adapter = client.models.get_job(parent.live_job_id).result.adapter_cid
    base = spec if spec is not None else load_spec(store, parent, parent_model_id)
    return base.replace(start_from=adapter)


def register_derived_model(
    client: ChainClient,
    store: ContentStore,
    datanet_id: int,
    version_id: int,
    spec: TrainingSpec,
    price_per_inference: int,
    parent_model_id: int,
) -> RegisteredModel:
    """Upload the spec (see `derived_spec`) and register a model fine-tuned from `parent_model_id`; checks
    that the job pinned on-chain is the adapter the spec starts from (the parent's owner may have switched
    results in between: then register again)."""
    spec_cid = store.add(spec.to_json().encode())
    tx = client.models.register_derived_model(
        datanet_id, version_id, spec.base_model, spec_cid, price_per_inference, parent_model_id
    )
    if tx.created_id is None:
        raise ChainError(f"registerDerivedModel (tx {tx.tx_hash}) emitted no ModelRegistered event")
    pinned = client.models.lineage_of(tx.created_id).parent_job_id
    adapter = client.models.get_job(pinned).result.adapter_cid
    if adapter != spec.start_from:
        raise ChainError(
            f"model {tx.created_id} was pinned to job {pinned} of model {parent_model_id} "
            f"(adapter {adapter}), but its spec starts from {spec.start_from or 'nothing'}: its jobs will "
            "be refused; register again with the parent's current adapter"
        )
    return RegisteredModel(tx.created_id, spec_cid, spec, tx)


def result_metrics(store: ContentStore, metrics_cid: str) -> dict[str, Any]:
    """A posted result's metrics.json, verified against its on-chain CID."""
    data = verified_fetch(store, metrics_cid, max_bytes=MAX_METRICS_BYTES)
    try:
        metrics = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StorageError(f"metrics {metrics_cid} is not JSON: {exc}") from exc
    if not isinstance(metrics, dict):
        raise StorageError(f"metrics {metrics_cid} is not a JSON object")
    return metrics


def validation_accuracy(metrics: dict[str, Any]) -> float | None:
    """The final epoch's validation accuracy (None for a generation model or metrics without it)."""
    final = metrics.get("final")
    value = final.get("val_accuracy") if isinstance(final, dict) else None
    return float(value) if isinstance(value, int | float) else None
