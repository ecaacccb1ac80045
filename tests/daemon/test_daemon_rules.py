"""What contracts v2 change for a worker, on a real Anvil: a version whose manifest redirects a contributor's
payouts fails the job; a claim the stake cannot back is skipped (or waits for the worker's own locks to
come back); a retrained result that awaits the model owner is a normal end; a challenge nobody rules on
is lapsed by the worker, which gets its collateral back."""

from __future__ import annotations

from dataclasses import replace

from eth_utils import keccak
from test_daemon_faults import FAST_RETRIES, _released
from workerworld import MODEL_OWNER, OPEN, OTHER_WORKER, OWNER, WORKER, World, daemon_for, run_until_status

from worker.chain.types import JobStatus
from worker.data.manifest import DatasetManifest

STAKE = 300 * OPEN  # what daemon_for stakes


def _forged_version(world: World) -> int:
    """The datanet owner publishes a self-consistent version (root and counts match its manifest) that
    names the owner as the contributor of someone else's file: the payouts of that file would go to it."""
    owner = world.client(OWNER)
    honest = owner.datanets.get_version(world.datanet_id, world.version_id)
    manifest = DatasetManifest.from_json(world.store.cat(honest.manifest_cid))
    victim = manifest.contributions[0]
    entries = [victim.model_copy(update={"contributor": owner.address}), *manifest.contributions[1:]]
    forged = manifest.model_copy(update={"contributions": entries})
    return owner.datanets.publish_version(
        world.datanet_id,
        bytes.fromhex(forged.merkle_root()[2:]),
        world.store.add(forged.canonical_json()),
        forged.record_count,
        forged.contribution_count,
    ).created_id


def test_a_manifest_that_redirects_a_contributors_payouts_fails_the_job(world: World) -> None:
    forged = replace(world, version_id=_forged_version(world))
    _, job_id = forged.request()
    daemon = daemon_for(world, backoff=FAST_RETRIES)
    daemon.run(until=lambda: daemon.ctx.tasks.counts().get("failed") == 1, timeout=60)
    [task] = daemon.ctx.tasks.all()
    owner, victim = world.client(OWNER).address, world.client(0).datanets.get_contribution(1).contributor
    assert f"under {owner} but on-chain it was contributed by {victim}" in task.last_error
    assert task.attempts == 0  # the same version fails the same way: not retried
    assert _released(world, job_id) and world.results(job_id) == (0, 0)


def test_a_claim_the_stake_can_never_back_is_skipped(world: World) -> None:
    _, job_id = world.request(bounty=STAKE)  # locks 1.5 x the bounty: more than the whole stake
    daemon = daemon_for(world)
    daemon.run(until=lambda: daemon.ctx.tasks.counts().get("skipped") == 1, timeout=60)
    [task] = daemon.ctx.tasks.all()
    assert "450 OPEN of collateral, more than this worker's whole stake (300 OPEN)" in task.last_error
    assert task.attempts == 0
    assert world.client(0).models.get_job(job_id).status == JobStatus.OPEN
    assert world.client(0).models.get_events("JobClaimed") == []


def test_a_claim_waits_for_the_collateral_the_workers_own_work_holds(world: World) -> None:
    bounty = STAKE * 2 // 5  # each claim locks 60 % of the stake: one at a time
    _, first = world.request(bounty=bounty)
    _, second = world.request(bounty=bounty)
    daemon = daemon_for(world)
    run_until_status(daemon, world, first, JobStatus.SUBMITTED)
    daemon.step()
    waiting = {t.subject: t for t in daemon.ctx.tasks.all()}[second]
    assert waiting.state == "waiting" and "waiting for our locks" in waiting.last_error
    assert world.client(0).models.get_job(second).status == JobStatus.OPEN

    world.chain.dev.increase_time(world.client(0).models.params().challenge_window + 1)
    run_until_status(daemon, world, second, JobStatus.SUBMITTED)  # the first finalized, freeing its lock
    assert world.client(0).models.get_job(first).status == JobStatus.FINALIZED


def test_a_retrained_result_awaiting_the_owner_is_a_normal_end(world: World) -> None:
    model_id, live_job = world.request()
    incumbent = world.client(OTHER_WORKER)  # makes the model live first, with a result of its own
    incumbent.workers.register_worker(STAKE, "http://incumbent")
    incumbent.models.claim_job(live_job)
    incumbent.models.submit_result(live_job, "bafy-live", "bafymetrics", keccak(text="live"), "bafyreport")
    window = world.client(0).models.params().challenge_window
    world.chain.dev.increase_time(window + 1)
    incumbent.models.finalize(live_job)

    retrain = world.client(MODEL_OWNER).models.request_training(model_id, 50 * OPEN).created_id
    daemon = daemon_for(world)
    run_until_status(daemon, world, retrain, JobStatus.SUBMITTED)
    world.chain.dev.increase_time(window + 1)
    daemon.run(until=lambda: daemon.ctx.tasks.counts().get("done") == 1, timeout=60)
    awaiting = world.client(0).models.get_events("ResultAwaitingOwner")
    assert [(e["jobId"], e["worker"]) for e in awaiting] == [(retrain, world.client(WORKER).address)]
    model = world.client(0).models.get_model(model_id)
    assert (model.live_job_id, model.compute_provider) == (live_job, incumbent.address)  # owner decides
    assert world.client(0).models.credited(world.client(WORKER).address) == 0  # the bounty was withdrawn


def test_a_challenge_nobody_rules_on_is_lapsed_by_the_worker(world: World) -> None:
    _, job_id = world.request()
    daemon = daemon_for(world)
    run_until_status(daemon, world, job_id, JobStatus.SUBMITTED)
    world.client(OTHER_WORKER).models.challenge_result(job_id, "bafy-i-doubt-it")
    daemon.step()
    [task] = daemon.ctx.tasks.all()
    assert task.state == "waiting" and "governance rules until" in task.last_error
    me = world.client(WORKER).address
    assert world.client(0).models.get_job(job_id).locked_stake > 0

    ruling = world.client(0).models.get_job(job_id).dispute.ruling_deadline
    world.chain.dev.increase_time(ruling - world.chain.dev.timestamp() + 1)
    run_until_status(daemon, world, job_id, JobStatus.SUBMITTED)
    lapsed = world.client(0).models.get_events("ChallengeLapsed")
    assert [(e["jobId"], e["worker"]) for e in lapsed] == [(job_id, me)]
    assert world.client(0).workers.stake_of(me) == STAKE  # nobody slashed
    # The job's hard deadline outlasts a lease, a window and a ruling: the voided job is claimed and
    # posted again, with its collateral locked anew.
    job = world.client(0).models.get_job(job_id)
    assert job.worker == me and world.client(0).workers.locked_stake(me) == job.locked_stake > 0
