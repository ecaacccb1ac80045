"""Training and model-level attribution of a job: deterministic, so a challenger replays them exactly."""

from __future__ import annotations

from pathlib import Path

from worker.attribution import AttributionArguments, AttributionReport, ProgressCallback, attribute
from worker.jobs.inputs import JobInputError, JobInputs
from worker.storage import fetch_directory
from worker.train import train
from worker.train.records import split_positions


def train_job(inputs: JobInputs, workdir: Path, progress: bool = False) -> Path:
    """The job's model directory under `workdir`, trained unless a complete one is already there (training
    writes the directory in one rename, so one that exists is whole: a restart after a crash reuses it)."""
    model_dir = workdir / "model"
    if (model_dir / "metrics.json").is_file():
        return model_dir
    parent = _parent_bundle(inputs, workdir)
    train(
        inputs.spec,
        inputs.records,
        model_dir,
        dataset_root=inputs.dataset_root,
        progress=progress,
        parent_dir=parent,
    )
    return model_dir


def _parent_bundle(inputs: JobInputs, workdir: Path) -> Path | None:
    """A derived model's parent adapter bundle (its CID checked against the chain by load_job_inputs),
    fetched with every file verified, under `workdir`; None for a model trained from scratch."""
    cid = inputs.spec.start_from
    if not cid:
        return None
    if inputs.store is None:
        raise JobInputError(f"job {inputs.job_id} starts from adapter {cid}: no content store to fetch from")
    return fetch_directory(inputs.store, cid, workdir / "parent")


def attribute_job(
    inputs: JobInputs,
    model_dir: Path,
    args: AttributionArguments | None = None,
    progress: ProgressCallback | None = None,
) -> AttributionReport:
    """Model-level attribution measured on the job's own held-out split, so that the measurement set is
    as recomputable as the training set (exact by default: the training run replayed and differentiated).
    Also saves the per-query index into `model_dir`. `args`: the
    engine's defaults unless given (a verifier passes those of the report it checks)."""
    split = split_positions(inputs.records, inputs.spec.validation_fraction)
    validation = [inputs.records[i] for i in split.validation]
    parent = _parent_bundle(inputs, model_dir.parent)  # the model-level replay starts from it
    return attribute(model_dir, inputs.records, validation, args=args, progress=progress, parent_dir=parent)
