"""Everything a training job trains on, read from the chain and verified content, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from worker.chain.client import ChainClient
from worker.chain.types import Job, Model
from worker.datanet.loading import DatasetRecord
from worker.datanet.versions import load_published_version
from worker.errors import OpenLedgerError, TrainingError
from worker.storage import ContentStore, verified_fetch
from worker.storage.errors import ContentNotFoundError
from worker.train import TrainingSpec

MAX_SPEC_BYTES = 64 * 1024


class JobInputError(OpenLedgerError):
    """The job's inputs are unusable (malformed spec, content that fails its CID or validation): retrying
    will not help, the job is failed with this reason."""


@dataclass(frozen=True)
class JobInputs:
    job_id: int
    job: Job
    model_id: int
    model: Model
    spec: TrainingSpec
    records: list[dict[str, Any]]  # each with `contributor` and `contribution` provenance fields
    dataset_root: str
    # A derived model's parent bundle: fetched (CID-verified) from this store by train_job.
    store: ContentStore | None = field(default=None, compare=False, repr=False)

    @property
    def spec_cid(self) -> str:
        return self.model.training_spec_cid


def training_records(rows: Sequence[DatasetRecord]) -> list[dict[str, Any]]:
    """Version rows as training records: each record with its provenance (who, which contribution), which
    is what attribution aggregates by."""
    return [{**r.record, "contributor": r.contributor, "contribution": str(r.contribution_id)} for r in rows]


def load_spec(store: ContentStore, model: Model, model_id: int) -> TrainingSpec:
    where = f"training spec {model.training_spec_cid} of model {model_id}"
    raw = verified_fetch(store, model.training_spec_cid, max_bytes=MAX_SPEC_BYTES)
    try:
        spec = TrainingSpec.from_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, TrainingError) as exc:
        raise JobInputError(f"{where} is malformed: {exc}") from None
    if spec.base_model != model.base_model:
        raise JobInputError(
            f"{where} names base model {spec.base_model!r} but the model was registered with "
            f"{model.base_model!r}"
        )
    return spec


def check_lineage(client: ChainClient, model_id: int, spec: TrainingSpec) -> None:
    """A derived model's spec must start from the adapter of the parent job pinned at its registration,
    and only a derived model's spec may start from an adapter at all (training on someone's adapter pays
    its contributors through the lineage, never silently)."""
    lineage = client.models.lineage_of(model_id)
    if not lineage.derived:
        if spec.start_from:
            raise JobInputError(
                f"the spec of model {model_id} starts from adapter {spec.start_from} but the model was not "
                "registered as derived (`openledger model register --parent`): its ancestors would go unpaid"
            )
        return
    expected = client.models.get_job(lineage.parent_job_id).result.adapter_cid
    if spec.start_from != expected:
        raise JobInputError(
            f"model {model_id} derives from model {lineage.parent_model_id} (job {lineage.parent_job_id}, "
            f"adapter {expected}) but its spec starts from {spec.start_from or 'nothing'!r}"
        )


def _is_missing_content(exc: BaseException | None) -> bool:
    """Missing content may appear later (a node catching up); the data layer wraps it with context."""
    while exc is not None:
        if isinstance(exc, ContentNotFoundError):
            return True
        exc = exc.__cause__
    return False


def load_job_inputs(client: ChainClient, store: ContentStore, job_id: int) -> JobInputs:
    """Job -> model -> Datanet version -> records. Content that is missing raises ContentNotFoundError
    (worth retrying: a node may not have it yet); content that is wrong raises JobInputError, and so does
    a manifest entry that is not the Accepted on-chain contribution it names (same contributor and CID):
    `load_published_version` checks every entry against the registry before anything is trained."""
    job = client.models.get_job(job_id)
    model = client.models.get_model(job.model_id)
    spec = load_spec(store, model, job.model_id)
    check_lineage(client, job.model_id, spec)
    try:
        published, rows = load_published_version(client, store, model.datanet_id, model.version_id)
    except OpenLedgerError as exc:
        if _is_missing_content(exc):
            raise
        raise JobInputError(
            f"datanet {model.datanet_id} version {model.version_id} of model {job.model_id} "
            f"is unusable: {exc}"
        ) from None
    records = training_records(rows)
    return JobInputs(job_id, job, job.model_id, model, spec, records, published.merkle_root, store)
