"""Everything a training job trains on, read from the chain and verified content, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
    try:
        published, rows = load_published_version(client, store, model.datanet_id, model.version_id)
    except OpenLedgerError as exc:
        if _is_missing_content(exc):
            raise
        raise JobInputError(
            f"datanet {model.datanet_id} version {model.version_id} of model {job.model_id} "
            f"is unusable: {exc}"
        ) from None
    return JobInputs(job_id, job, job.model_id, model, spec, training_records(rows), published.merkle_root)
