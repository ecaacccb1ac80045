"""The worker daemon in-process on a real Anvil: a training request becomes a claimed job, a trained and
attributed adapter on the content store, a submitted result, and (after the window) a finalized job."""

from __future__ import annotations

from workerworld import WORKER, World, daemon_for, run_until_status

from worker.chain.types import JobStatus
from worker.daemon import worker_status
from worker.storage import bundle_files


def test_a_request_is_trained_posted_and_finalized(world: World) -> None:
    model_id, job_id = world.request()
    daemon = daemon_for(world)
    run_until_status(daemon, world, job_id, JobStatus.SUBMITTED)
    job = world.client(0).models.get_job(job_id)
    assert job.worker == world.client(WORKER).address
    files = bundle_files(world.store, job.result.adapter_cid)
    assert {"adapter_model.safetensors", "spec.json", "metrics.json", "dataset.json"} <= set(files)
    assert any(name.startswith("attribution") for name in files), files

    world.chain.dev.increase_time(world.client(0).models.params().challenge_window + 1)
    run_until_status(daemon, world, job_id, JobStatus.FINALIZED)
    daemon.run(until=lambda: daemon.ctx.tasks.counts().get("done") == 1, timeout=30)
    assert world.client(0).models.is_live(model_id)
    assert world.results(job_id) == (1, 1)
    assert world.client(0).models.credited(world.client(WORKER).address) == 0  # bounty withdrawn

    # Every transaction the worker signed was recorded first and is settled now: the approval and the
    # registration, then one claim, one result, one finalization, one withdrawal.
    entries = daemon.ctx.outbox.entries()
    assert {e.state for e in entries} == {"mined"}
    assert [e.action for e in entries] == ["register", "register", "claim", "submit", "finalize", "withdraw"]

    status = worker_status(daemon.ctx.db, world.chain.dev.block_number())
    assert status.tasks_by_state == {"done": 1}
    assert set(status.tasks[0]["timings"]) == {"claim", "fetch", "train", "attribute", "upload", "post"}
    assert status.lag == 0
