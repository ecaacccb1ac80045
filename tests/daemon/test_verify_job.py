"""`openledger verify job`: a posted result recomputed from the chain and content alone matches; a
result with a forged attribution root does not, and the command says which commitment differs."""

from __future__ import annotations

import json

from conftest import OTHER_WORKER, World
from test_daemon_lifecycle import daemon_for
from typer.testing import CliRunner

from worker.attribution import AttributionArguments
from worker.chain.types import JobStatus
from worker.cli import app
from worker.jobs.verify import _differences, _flatten, _posted_arguments, verify_job


def test_an_honest_result_verifies_and_a_forged_root_does_not(
    world: World, worker_env: dict[str, str], monkeypatch
) -> None:
    _, job_id = world.request()
    daemon = daemon_for(world)
    daemon.run(
        until=lambda: world.client(0).models.get_job(job_id).status == JobStatus.SUBMITTED, timeout=120
    )

    for key, value in worker_env.items():
        monkeypatch.setenv(key, value)
    done = CliRunner().invoke(app, ["verify", "job", str(job_id), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["match"] and {c["name"] for c in report["checks"] if c["ok"]} == {
        "adapter",
        "metrics",
        "attribution report",
        "attribution root",
    }
    assert report["argument_differences"] == {}  # posted with this release's defaults

    # A dishonest worker posts the honest adapter and report with a root of its own choosing.
    _, forged_job = world.request()
    cheat = world.client(OTHER_WORKER)
    cheat.workers.register_worker(300 * 10**18, "http://cheat")
    cheat.models.claim_job(forged_job)
    honest = world.client(0).models.get_job(job_id).result
    cheat.models.submit_result(
        forged_job, honest.adapter_cid, honest.metrics_cid, b"\x11" * 32, honest.report_cid
    )
    result = verify_job(world.client(0), world.store, forged_job)
    assert not result.ok
    assert [c.name for c in result.checks if not c.ok] == ["attribution root"]
    done = CliRunner().invoke(app, ["verify", "job", str(forged_job)])
    assert done.exit_code == 1 and "MISMATCH" in done.output


def test_a_report_is_recomputed_with_the_arguments_it_declares() -> None:
    """A worker of an older release posted with its own defaults (here: before `lora_layers`, so every
    LoRA block was tracked); the verifier must recompute with those, not with its own, and say so."""
    old = {
        "features": {"projection_dim": 1024, "checkpoints": "all"},
        "preconditioner": {"damping_ratio": 30.0},
    }
    args = _posted_arguments({"arguments": old})
    assert args is not None and args.features.lora_layers == 1.0 and args.features.projection_dim == 1024
    ours = AttributionArguments()
    assert _differences(_flatten(args.to_dict()), _flatten(ours.to_dict())) == {
        "features.lora_layers": {"poster": 1.0, "verifier": ours.features.lora_layers}
    }
    # unreadable or absent arguments: our defaults (the root check then tells whether they match)
    assert _posted_arguments("404: not found") is None
    assert _posted_arguments({"arguments": {"features": {"lora_layers": 7}}}) is None
