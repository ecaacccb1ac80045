"""Loading a live model from the chain and the content store, everything verified on the way.

The model's adapter CID (ModelRegistry) names a directory bundle: adapter, spec, checkpoints and the
attribution index saved at training time; `fetch_directory` re-verifies every file's CID, and the index
refuses an adapter it was not built for. The model's attribution report (the CID in its live job's
result) says who owns each training record. Language models also load the Datanet version's records
(verified against the version's Merkle root) for exact-span evidence.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from worker.attribution import AttributionArguments, AttributionIndex, AttributionReport, ScoreArguments
from worker.attribution.spans import SpanIndex
from worker.chain.client import ChainClient
from worker.chain.types import Model, ModelStatus
from worker.data.schema import record_text
from worker.datanet.versions import load_published_version
from worker.errors import OpenLedgerError
from worker.jobs.inputs import training_records
from worker.serve.adapters import BasePool
from worker.serve.errors import ModelUnavailable
from worker.serve.explain import RecordOwners, model_level_masses, record_owners
from worker.serve.served_model import AnswerSettings, ServedModel
from worker.serve.span_evidence import SpanSource
from worker.storage import ContentStore, fetch_directory, verified_fetch
from worker.train.records import record_hash

MAX_ATTRIBUTION_REPORT = 512 * 1024 * 1024


def live_model(client: ChainClient, model_id: int) -> Model:
    """The on-chain model, which must exist and be live (ModelUnavailable otherwise)."""
    count = client.models.model_count()
    if not 1 <= model_id <= count:
        raise ModelUnavailable(
            f"model {model_id} does not exist (models are 1..{count})", code="model_not_found"
        )
    model = client.models.get_model(model_id)
    if model.status != ModelStatus.LIVE:
        raise ModelUnavailable(
            f"model {model_id} is not live yet (status {model.status.name.lower()}): it can be used once a "
            "training result is finalized",
            code="model_not_live",
            status=409,
        )
    return model


def _attribution_report(client: ChainClient, store: ContentStore, model: Model) -> AttributionReport:
    cid = client.models.get_job(model.live_job_id).result.report_cid
    raw = verified_fetch(store, cid, max_bytes=MAX_ATTRIBUTION_REPORT)
    return AttributionReport.from_dict(json.loads(raw))


def _adapter_dir(store: ContentStore, adapter_cid: str, cache_dir: Path) -> Path:
    directory = cache_dir / adapter_cid
    if not (directory / "spec.json").is_file():
        fetch_directory(store, adapter_cid, directory)
    return directory


def _span_source(
    client: ChainClient, store: ContentStore, model: Model, directory: Path, owners: RecordOwners
) -> SpanSource:
    """The span index saved in the adapter bundle, memory-mapped and checked against the model's training
    records (SpanIndexMismatch when it was built for others). Adapters trained before span indexes
    existed have none: it is built in memory from the Datanet version's records (the training records
    are those whose hashes the report lists, in its order), and the model keeps serving."""
    hashes = [o.hash for o in owners.owners]
    if SpanIndex.exists(directory):
        return SpanSource(SpanIndex.load(directory, hashes), owners.owners)
    _, rows = load_published_version(client, store, model.datanet_id, model.version_id, validate=False)
    texts = {record_hash(r): record_text(r) for r in training_records(rows)}
    missing = [h for h in hashes if h not in texts]
    if missing:
        raise ValueError(
            f"{len(missing)} training records of the model's report (e.g. {missing[0][:12]}...) are not in "
            f"Datanet {model.datanet_id} version {model.version_id}: no span evidence can be built"
        )
    return SpanSource(SpanIndex([texts[h] for h in hashes], record_hashes=hashes), owners.owners)


def answer_arguments(index: AttributionIndex, settings: AnswerSettings | None = None) -> AttributionArguments:
    """What a served model attributes answers with: queries featurized exactly as `index` was built,
    scored with the engine's defaults and the query mode the server was started with (if any)."""
    mode = settings.query_checkpoints if settings else None
    score = ScoreArguments() if mode is None else ScoreArguments(query_checkpoints=mode)
    return AttributionArguments.from_dict(
        {
            "features": index.config["features"],
            "preconditioner": index.config["preconditioner"],
            "score": dataclasses.asdict(score),
        }
    )


def load_served_model(
    client: ChainClient,
    store: ContentStore,
    model_id: int,
    cache_dir: Path,
    settings: AnswerSettings | None = None,
    device: str | None = None,
    bases: BasePool | None = None,
) -> ServedModel:
    """The live model, its adapter on a base from `bases` (shared with the other adapters of the same
    base: serve/adapters.py; without a pool, a base of its own)."""
    model = live_model(client, model_id)
    bases = bases or BasePool(device)
    try:
        directory = _adapter_dir(store, model.adapter_cid, cache_dir)
        index = AttributionIndex.load(directory)
        args = answer_arguments(index, settings)
        report = _attribution_report(client, store, model)
        owners = record_owners(report, index.record_hashes)
        adapter = bases.load(directory, args)
        analyzer = adapter.analyzer
    except (OpenLedgerError, ValueError, KeyError) as exc:
        raise ModelUnavailable(
            f"model {model_id} cannot be served: {exc}", code="model_unloadable", status=503
        ) from exc
    try:
        spans = (
            _span_source(client, store, model, directory, owners)
            if analyzer.spec.task == "generation"
            else None
        )
    except (OpenLedgerError, ValueError, KeyError) as exc:
        bases.release(adapter)
        raise ModelUnavailable(
            f"model {model_id} cannot be served: {exc}", code="model_unloadable", status=503
        ) from exc
    return ServedModel(
        model_id,
        model.adapter_cid,
        analyzer,
        index,
        owners,
        model_level_masses(report),
        spans,
        settings,
        adapter,
    )
