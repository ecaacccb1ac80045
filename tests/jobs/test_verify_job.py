"""`openledger verify job`: a posted result recomputed from the chain and content alone matches, in
another process too; a result with a forged attribution root does not, and the command says which
commitment differs; one computed with other library versions gets no verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from examplebots import load_bot
from typer.testing import CliRunner
from workerworld import CONTRIBUTORS, OTHER_WORKER, ROOT, World, daemon_for

from worker.attribution import AttributionArguments
from worker.chain.types import JobStatus
from worker.cli import app
from worker.cli.verify_commands import EXIT_CANNOT_JUDGE, EXIT_MISMATCH
from worker.jobs.verify import Verdict, _differences, _flatten, _posted_arguments, verify_job
from worker.storage import add_directory, fetch_directory
from worker.train.artifacts import write_json


def _honest_job(world: World) -> int:
    """A job trained, attributed and posted by the worker daemon (in this process)."""
    _, job_id = world.request()
    daemon_for(world).run(
        until=lambda: world.client(0).models.get_job(job_id).status == JobStatus.SUBMITTED, timeout=120
    )
    return job_id


def _posted_by_cheat(world: World, adapter_cid: str, metrics_cid: str, root: bytes, report_cid: str) -> int:
    """A second job on the same model inputs, claimed and answered by another worker as given."""
    _, job_id = world.request()
    cheat = world.client(OTHER_WORKER)
    cheat.workers.register_worker(300 * 10**18, "http://cheat")
    cheat.models.claim_job(job_id)
    cheat.models.submit_result(job_id, adapter_cid, metrics_cid, root, report_cid)
    return job_id


def _verify_in_new_process(env: dict[str, str], job_id: int, cwd: Path) -> subprocess.CompletedProcess:
    """`openledger verify job` in its own interpreter, under another hash seed than this one (whose set
    orders the poster's files followed) and another working directory, running this checkout's code."""
    hash_seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    cwd.mkdir()
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", "verify", "job", str(job_id), "--json"],
        env=dict(env, PYTHONHASHSEED=hash_seed, PYTHONPATH=str(ROOT)),
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_an_honest_result_verifies_and_a_forged_root_does_not(
    world: World, worker_env: dict[str, str], monkeypatch, tmp_path: Path
) -> None:
    job_id = _honest_job(world)
    done = _verify_in_new_process(worker_env, job_id, tmp_path / "elsewhere")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["match"] and report["verdict"] == "match"
    assert {c["name"] for c in report["checks"] if c["ok"]} == {
        "adapter",
        "metrics",
        "attribution report",
        "attribution root",
    }
    assert report["argument_differences"] == {}  # posted with this release's defaults

    # A dishonest worker posts the honest adapter and report with a root of its own choosing.
    honest = world.client(0).models.get_job(job_id).result
    forged_root = b"\x11" * 32
    forged_job = _posted_by_cheat(
        world, honest.adapter_cid, honest.metrics_cid, forged_root, honest.report_cid
    )
    result = verify_job(world.client(0), world.store, forged_job)
    assert result.verdict is Verdict.MISMATCH and result.version_differences == {}
    assert [c.name for c in result.checks if not c.ok] == ["attribution root"]
    for key, value in worker_env.items():
        monkeypatch.setenv(key, value)
    done = CliRunner().invoke(app, ["verify", "job", str(forged_job)])
    assert done.exit_code == EXIT_MISMATCH and "MISMATCH" in done.output


def test_the_auto_verify_bot_challenges_the_forged_result_only(world: World, monkeypatch) -> None:
    monkeypatch.setenv("OPENLEDGER_HOME", str(world.home))  # the bot's cursor lives there
    job_id = _honest_job(world)
    honest = world.client(0).models.get_job(job_id).result
    forged = _posted_by_cheat(world, honest.adapter_cid, honest.metrics_cid, b"\x11" * 32, honest.report_cid)
    bot, said = load_bot("auto_verify"), []
    challenger = world.client(CONTRIBUTORS[0])
    assert bot.run(challenger, world.store, once=True, emit=said.append) == 2
    assert said[0] == f"job {job_id}: match"
    assert said[1].startswith(f"job {forged}: mismatch (challenged (bond escrowed, reason ")
    assert world.client(0).models.get_job(forged).status == JobStatus.CHALLENGED
    assert world.client(0).models.get_job(job_id).status == JobStatus.SUBMITTED
    # Delivered again (at least once): a job already challenged is skipped, never challenged twice.
    again = bot.check_result(challenger, world.store, forged)
    assert (again.verdict, again.challenged) == ("skipped", False)


def test_a_result_from_other_library_versions_cannot_be_judged(
    world: World, worker_env: dict[str, str], monkeypatch, tmp_path: Path
) -> None:
    """A differing result whose poster recorded another torch is no evidence of cheating: no verdict."""
    honest = world.client(0).models.get_job(_honest_job(world)).result
    adapter = fetch_directory(world.store, honest.adapter_cid, tmp_path / "adapter")
    recorded = json.loads((adapter / "versions.json").read_bytes())
    write_json(adapter / "versions.json", {**recorded, "torch": "2.12.0"})
    fabricated, root = add_directory(world.store, adapter), bytes(honest.attribution_root)
    job_id = _posted_by_cheat(world, fabricated, honest.metrics_cid, root, honest.report_cid)

    result = verify_job(world.client(0), world.store, job_id)
    assert [c.name for c in result.checks if not c.ok] == ["adapter"]
    assert result.differing_files == ["versions.json"]
    assert result.version_differences == {"torch": {"poster": "2.12.0", "verifier": torch.__version__}}
    assert result.verdict is Verdict.CANNOT_JUDGE
    expected = f"cannot judge: versions differ (torch {torch.__version__} vs 2.12.0; verifier vs poster)"
    assert result.explanation() == expected and result.to_dict()["verdict"] == "cannot judge"
    for key, value in worker_env.items():
        monkeypatch.setenv(key, value)
    done = CliRunner().invoke(app, ["verify", "job", str(job_id)])
    assert done.exit_code == EXIT_CANNOT_JUDGE, done.output
    assert expected in done.output and "MISMATCH" not in done.output


def test_a_report_is_recomputed_with_the_arguments_it_declares() -> None:
    """A worker of an older release posted with its own defaults (here: before `lora_layers`, so every
    LoRA block was tracked, and before the model-level replay, so the model level came from the index);
    the verifier must recompute with those, not with its own, and say so."""
    old = {
        "features": {"projection_dim": 1024, "checkpoints": "all"},
        "preconditioner": {"damping_ratio": 30.0},
        "score": {"top_k": 10, "negative_flag_z": 3.0, "query_checkpoints": "final"},
    }
    args = _posted_arguments({"arguments": old})
    assert args is not None and args.features.lora_layers == 1.0 and args.features.projection_dim == 1024
    ours = AttributionArguments()
    posted = {"features.lora_layers": 1.0, "preconditioner.damping_ratio": 30.0}
    posted |= {"score.query_checkpoints": "final", "model_level.method": "gradients"}
    theirs = _flatten(ours.to_dict())
    differences = _differences(_flatten(args.to_dict()), theirs)
    expected = {k: {"poster": v, "verifier": theirs[k]} for k, v in posted.items() if v != theirs[k]}
    assert differences == expected
    assert "model_level.method" in differences
    # unreadable or absent arguments: our defaults (the root check then tells whether they match)
    assert _posted_arguments("404: not found") is None
    assert _posted_arguments({"arguments": {"features": {"lora_layers": 7}}}) is None
