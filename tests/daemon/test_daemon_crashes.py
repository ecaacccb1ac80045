"""`kill -9` of a real `openledger worker run` process at each stage of a job: the restarted worker
resumes, and the chain shows exactly one result and one finalization for the job."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from workerworld import WORKER, World, run_worker

from worker.chain.types import JobStatus

SIGKILLED = -9


def _task_row(world: World) -> sqlite3.Row:
    [path] = (world.home / "worker").rglob("state.sqlite")
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn.execute("SELECT * FROM tasks WHERE kind = 'train'").fetchone()


def _ok(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 0, (
        f"worker exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )


def _pass_window(world: World) -> None:
    world.chain.dev.increase_time(world.client(0).models.params().challenge_window + 1)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("point", ["after-claim", "during-training", "after-upload", "after-submit"])
def test_killed_before_the_result_is_final_resumes_and_posts_once(
    world: World, worker_env: dict[str, str], point: str
) -> None:
    _, job_id = world.request()
    env = dict(worker_env, OPENLEDGER_FAILPOINT_DELAY="0.05")
    crashed = run_worker(env, failpoint=point)
    assert crashed.returncode == SIGKILLED, crashed.stderr[-3000:]
    row = _task_row(world)
    # Failpoints sit right after the transaction and before the worker records it (the worst moment).
    expected_stage = {"after-claim": "claim", "during-training": "train", "after-upload": "submit"}
    if point in expected_stage:
        assert row["stage"] == expected_stage[point]
        assert world.results(job_id) == (0, 0)
    else:  # after-submit: the result is on-chain, the local record still says "submit"
        assert row["stage"] == "submit"
        assert world.results(job_id) == (1, 0)
    assert world.client(0).models.get_job(job_id).worker == world.client(WORKER).address

    _ok(run_worker(worker_env, "--exit-when-idle"))  # resumes; stops while the challenge window is open
    assert world.results(job_id) == (1, 0)
    _pass_window(world)
    _ok(run_worker(worker_env, "--exit-when-idle"))
    assert world.results(job_id) == (1, 1)
    assert world.client(0).models.get_job(job_id).status == JobStatus.FINALIZED
    assert _task_row(world)["state"] == "done"


def _check_status(env: dict[str, str], job_id: int) -> None:
    """`openledger worker status --json` while the result waits out its challenge window."""
    command = [sys.executable, "-m", "worker.cli", "worker", "status", "--dev-account", str(WORKER), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    _ok(done)
    status = json.loads(done.stdout)
    assert status["tasks_by_state"] == {"waiting": 1}
    assert status["lag"] == 0
    assert status["tasks"][0]["subject"] == job_id
    assert status["tasks"][0]["stage"] == "finalize"
    assert "challenge window open" in status["last_errors"][0]["error"]


@pytest.mark.timeout(300)
def test_killed_before_finalizing_finalizes_once(world: World, worker_env: dict[str, str]) -> None:
    _, job_id = world.request()
    _ok(run_worker(worker_env, "--exit-when-idle"))
    assert world.results(job_id) == (1, 0)
    _check_status(worker_env, job_id)
    _pass_window(world)
    assert run_worker(worker_env, failpoint="before-finalize").returncode == SIGKILLED
    assert world.results(job_id) == (1, 0)
    _ok(run_worker(worker_env, "--exit-when-idle"))
    assert world.results(job_id) == (1, 1)
    assert _task_row(world)["state"] == "done"
