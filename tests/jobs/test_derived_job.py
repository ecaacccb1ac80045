"""A derived model's training job: its inputs name the parent's pinned adapter, the worker fetches that
bundle by CID and trains from it; a spec that starts elsewhere, or a model from scratch whose spec starts
from someone's adapter, is refused before anything is trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paidmodel import MODEL_OWNER, PRICE, WORKER, LiveModel
from safetensors.torch import load_file

from worker.jobs import JobInputError, load_job_inputs, train_job
from worker.train import TrainingSpec
from worker.units import OPEN


def _job(live: LiveModel, start_from: str, derived: bool = True) -> int:
    owner = live.client(MODEL_OWNER)
    parent = owner.models.get_model(live.model_id)
    bundle = json.loads(live.store.cat(parent.training_spec_cid))
    spec = TrainingSpec.from_dict(bundle).replace(epochs=1, start_from=start_from)
    spec_cid = live.store.add(spec.to_json().encode())
    args = (parent.datanet_id, parent.version_id, parent.base_model, spec_cid, PRICE)
    if derived:
        model_id = owner.models.register_derived_model(*args, live.model_id).created_id
    else:
        model_id = owner.models.register_model(*args).created_id
    return owner.models.request_training(model_id, 10 * OPEN).created_id


def test_derived_job_trains_from_the_parents_pinned_adapter(live: LiveModel, tmp_path: Path) -> None:
    job_id = _job(live, live.adapter_cid)
    inputs = load_job_inputs(live.client(WORKER), live.store, job_id)
    assert inputs.spec.start_from == live.adapter_cid
    model_dir = train_job(inputs, tmp_path)
    assert (tmp_path / "parent" / "adapter_model.safetensors").is_file()  # fetched, every file verified
    recorded = TrainingSpec.from_json((model_dir / "spec.json").read_text())
    assert recorded.start_from == live.adapter_cid
    again = train_job(inputs, tmp_path / "replay")
    a = load_file(str(model_dir / "adapter_model.safetensors"))
    b = load_file(str(again / "adapter_model.safetensors"))
    assert all(a[k].equal(b[k]) for k in a)


def test_a_spec_starting_elsewhere_is_refused(live: LiveModel) -> None:
    other = live.store.add(b"not the parent's adapter")
    with pytest.raises(JobInputError, match="but its spec starts from"):
        load_job_inputs(live.client(WORKER), live.store, _job(live, other))
    with pytest.raises(JobInputError, match="not registered as derived"):
        load_job_inputs(live.client(WORKER), live.store, _job(live, live.adapter_cid, derived=False))


def test_model_register_parent_command(live: LiveModel) -> None:
    """`openledger model register --parent` registers a derived model whose spec starts from the parent's
    live adapter; its first job's inputs load."""
    from paidmodel import cli_env
    from typer.testing import CliRunner

    from worker.cli import app

    parent = live.client(0).models.get_model(live.model_id)
    args = ["model", "register", str(parent.datanet_id), str(parent.version_id)]
    args += ["--parent", str(live.model_id)]
    result = CliRunner().invoke(
        app, [*args, "--epochs", "1", "--bounty", "5", "--dev-account", str(MODEL_OWNER), "--json"],
        env=cli_env(live),
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    made = json.loads(result.stdout)
    assert made["parent_model_id"] == live.model_id and made["start_from"] == live.adapter_cid
    lineage = live.client(0).models.lineage_of(made["model_id"])
    assert (lineage.parent_model_id, lineage.parent_job_id) == (live.model_id, live.job_id)
    inputs = load_job_inputs(live.client(WORKER), live.store, made["job_id"])
    assert inputs.spec.start_from == live.adapter_cid and inputs.spec.epochs == 1


def test_a_derived_result_verifies(live: LiveModel, tmp_path: Path) -> None:
    """`verify job` replays a derived model's run (the parent bundle fetched by CID again) and matches."""
    from worker.jobs import attribute_job, publish_result
    from worker.jobs.verify import verify_job

    job_id = _job(live, live.adapter_cid)
    worker = live.client(WORKER)
    inputs = load_job_inputs(worker, live.store, job_id)
    model_dir = train_job(inputs, tmp_path / "worker")
    result = publish_result(live.store, model_dir, attribute_job(inputs, model_dir))
    worker.models.claim_job(job_id)
    worker.models.submit_result(
        job_id, result.adapter_cid, result.metrics_cid, result.root_bytes, result.report_cid
    )
    verdict = verify_job(live.client(0), live.store, job_id, tmp_path)
    assert verdict.ok, [c for c in verdict.checks if not c.ok]
