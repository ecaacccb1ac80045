"""Reorgs on a real Anvil (`anvil_rollback`, `anvil_reorg`): derived state is rewound to the fork and
nothing is posted for an event that no longer exists."""

from __future__ import annotations

import pytest
from workerworld import World, daemon_for

from worker.daemon import WorkerDaemon
from worker.daemon.training import TrainingJobs


def _indexed(daemon: WorkerDaemon, name: str) -> int:
    return int(daemon.ctx.db.query("SELECT COUNT(*) AS n FROM events WHERE name = ?", (name,))[0]["n"])


@pytest.mark.parametrize("how", ["rollback", "reorg"])
def test_a_request_removed_by_a_reorg_is_never_worked_on(world: World, how: str) -> None:
    daemon = daemon_for(world)
    daemon.start()
    daemon.follower.poll()  # catch up with the world's history first
    _, job_id = world.request()
    daemon.follower.poll()  # the request is indexed and its task created...
    assert _indexed(daemon, "TrainingRequested") == 1
    assert daemon.ctx.tasks.counts() == {"pending": 1}

    # ...then the block holding it disappears: shorter chain, or same height with a new block.
    world.chain.dev.rollback(1) if how == "rollback" else world.chain.dev.reorg(1)
    report = daemon.step()
    assert report.poll is not None and report.poll.reorg_depth >= 1
    assert _indexed(daemon, "TrainingRequested") == 0
    assert daemon.ctx.tasks.counts() == {"orphaned": 1}
    assert world.client(0).models.job_count() == job_id - 1
    assert world.results(job_id) == (0, 0)
    claims = world.client(0).models.get_events("JobClaimed")
    assert claims == []


def test_a_claim_removed_by_a_reorg_is_taken_again_and_posted_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reorg happens while the worker trains: its claim is gone, the request is not. The worker must
    not submit under a lease it no longer holds: it claims again, then posts exactly one result."""
    _, job_id = world.request()
    daemon = daemon_for(world)
    compute = TrainingJobs._compute
    reorged = []

    def compute_during_a_reorg(self, task, job):
        if not reorged:
            reorged.append(world.chain.dev.block_number())
            world.chain.dev.rollback(1)  # the block with our claim
            assert world.client(0).models.get_job(job_id).status == 1  # Open again
        return compute(self, task, job)

    monkeypatch.setattr(TrainingJobs, "_compute", compute_during_a_reorg)
    daemon.run(until=lambda: world.results(job_id)[0] > 0, timeout=120)
    assert reorged
    claims = [e for e in world.client(0).models.get_events("JobClaimed") if e["jobId"] == job_id]
    assert len(claims) == 1  # the surviving (second) claim
    assert world.results(job_id) == (1, 0)


def test_a_reorg_deeper_than_the_request_orphans_work_in_flight(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Request and claim both vanish while training: the trained result is never posted."""
    daemon = daemon_for(world)
    daemon.start()  # registered before the request, so the rollback below leaves the registration
    _, job_id = world.request()
    compute = TrainingJobs._compute

    def compute_during_a_reorg(self, task, job):
        world.chain.dev.rollback(2)  # claim and request
        return compute(self, task, job)

    monkeypatch.setattr(TrainingJobs, "_compute", compute_during_a_reorg)
    daemon.step()
    daemon.step()
    assert daemon.ctx.tasks.counts() == {"orphaned": 1}, [t.last_error for t in daemon.ctx.tasks.all()]
    assert world.client(0).models.job_count() == job_id - 1
    assert world.results(job_id) == (0, 0)
    assert _indexed(daemon, "TrainingRequested") == 0
