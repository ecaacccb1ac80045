"""Faults the worker must survive on a real Anvil: bad content and specs fail the job with a recorded
reason and give the lease back; a reverting transaction is decoded and recorded, not retried blindly;
the RPC going away is waited out; two workers never both process a job, and one that dies is replaced
after its lease."""

from __future__ import annotations

import threading
import time

import pytest
from rpc_proxy import RpcProxy
from tinymodels import sentiment_records
from workerworld import CONTRIBUTORS, OTHER_WORKER, WORKER, World, contribute, daemon_for

from worker.chain.accounts import dev_signer
from worker.chain.client import ChainClient
from worker.chain.connection import connect
from worker.chain.types import ContributionStatus, JobStatus
from worker.daemon import Backoff, WorkerDaemon

FAST_RETRIES = Backoff(base=0.05, cap=0.1, max_attempts=3)


def _released(world: World, job_id: int) -> bool:
    return any(e["jobId"] == job_id for e in world.client(0).models.get_events("JobReleased"))


def _fail_one(world: World, spec_cid: str | None) -> tuple[WorkerDaemon, int]:
    _, job_id = world.request(spec_cid=spec_cid)
    daemon = daemon_for(world, backoff=FAST_RETRIES)
    daemon.run(until=lambda: daemon.ctx.tasks.counts().get("failed") == 1, timeout=60)
    return daemon, job_id


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "malformed"),
        (b'{"base_model": "minilm"}', "registered with"),  # spec and on-chain model disagree
        (None, "not in the local store"),  # the spec CID has no content anywhere
    ],
)
def test_a_bad_or_missing_spec_fails_the_job_and_releases_it(world: World, content, reason: str) -> None:
    if content is None:
        from worker.storage import compute_cid

        spec_cid = compute_cid(b"a spec nobody stored")
    else:
        spec_cid = world.store.add(content)
    daemon, job_id = _fail_one(world, spec_cid)
    [task] = daemon.ctx.tasks.all()
    assert reason in task.last_error, task.last_error
    assert _released(world, job_id)
    assert world.client(0).models.get_job(job_id).status == JobStatus.OPEN
    assert world.results(job_id) == (0, 0)
    if content is None:
        assert task.attempts == FAST_RETRIES.max_attempts  # missing content is retried, then given up


def test_records_that_fail_the_spec_fail_the_job(world: World) -> None:
    spec = world.spec(strict_length=True, max_length=4)  # every toy record is longer than 4 tokens
    daemon, job_id = _fail_one(world, world.store.add(spec.to_json().encode()))
    [task] = daemon.ctx.tasks.all()
    assert "max_length" in task.last_error or "longer" in task.last_error, task.last_error
    assert task.attempts == 0  # not retried: the same data fails the same way
    assert _released(world, job_id)


def test_content_that_does_not_match_its_cid_fails_the_job(world: World) -> None:
    contribution = world.client(0).datanets.get_contribution(1)
    (world.store.objects / contribution.content_cid).write_bytes(b'{"text": "forged", "label": "pos"}\n')
    daemon, job_id = _fail_one(world, None)
    [task] = daemon.ctx.tasks.all()
    assert contribution.content_cid in task.last_error or "CID" in task.last_error, task.last_error
    assert _released(world, job_id)


def test_a_reverting_transaction_is_recorded_not_retried(world: World) -> None:
    daemon = daemon_for(world)
    daemon.start()
    world.client(WORKER).workers.request_exit()  # no longer an active worker: claimJob will revert
    _, job_id = world.request()
    daemon.step()
    [task] = daemon.ctx.tasks.all()
    assert task.state == "failed"
    assert "NotActiveWorker" in task.last_error
    assert task.attempts == 0
    assert world.client(0).models.get_events("JobClaimed") == []


def test_a_cancelled_job_is_skipped(world: World) -> None:
    daemon = daemon_for(world)
    daemon.start()
    _, job_id = world.request()
    daemon.follower.poll()
    world.client(6).models.cancel_job(job_id)
    daemon.step()
    [task] = daemon.ctx.tasks.all()
    assert (task.state, task.last_error) == ("skipped", "cancelled by the requester")


def test_the_rpc_going_away_is_waited_out(world: World, caplog: pytest.LogCaptureFixture) -> None:
    upstream = world.chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    with RpcProxy(upstream) as proxy:
        client = ChainClient(connect(proxy.url), dev_signer(WORKER), world.chain.deployment)
        daemon = WorkerDaemon.open(client, world.store, daemon_for(world).ctx.settings)
        stop = threading.Event()
        errors: list[BaseException] = []

        def work() -> None:
            try:
                daemon.run(stop=stop)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        time.sleep(1.0)
        proxy.down()
        _, job_id = world.request()  # sent straight to Anvil while the worker cannot see the chain
        time.sleep(3.0)
        assert thread.is_alive() and not errors
        failures = daemon.rpc_failures
        assert 1 <= failures <= 5  # backing off, not spinning
        proxy.up()
        deadline = time.monotonic() + 60
        while world.results(job_id) == (0, 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        thread.join(30)
    assert not errors, errors
    assert world.results(job_id) == (1, 0)
    assert any(r.getMessage() == "rpc.unavailable" for r in caplog.records)


def test_two_workers_never_both_process_a_job_and_a_dead_ones_lease_is_taken_over(world: World) -> None:
    first, second = daemon_for(world, WORKER), daemon_for(world, OTHER_WORKER)
    first.start()
    second.start()
    _, job_id = world.request()
    first.step()  # claims, trains, submits
    second.step()
    assert [t.state for t in second.ctx.tasks.all()] == ["skipped"]
    assert world.results(job_id) == (1, 0)

    # A worker that claims and then dies: the other waits for the lease, then takes the job over.
    _, job2 = world.request()
    first.follower.poll()
    world.client(WORKER).models.claim_job(job2)  # ...and the first worker is never heard from again
    second.step()
    [_, waiting] = second.ctx.tasks.all()
    assert waiting.state == "waiting" and "lease held by" in waiting.last_error
    world.chain.dev.increase_time(world.client(0).models.params().lease_duration + 1)
    second.run(until=lambda: world.results(job2)[0] == 1, timeout=60)
    job = world.client(0).models.get_job(job2)
    assert job.worker == world.client(OTHER_WORKER).address
    takeover = [e for e in world.client(0).models.get_events("JobClaimed") if e["jobId"] == job2][-1]
    assert takeover["previousWorker"] == world.client(WORKER).address
    first.step()  # the first worker comes back: the job is someone else's now
    assert world.results(job2) == (1, 0)
    assert {t.subject: t.state for t in first.ctx.tasks.all()}[job2] == "skipped"


def test_auto_review_accepts_valid_and_rejects_duplicate_and_invalid_contributions(world: World) -> None:
    owner = world.client(1)
    owner.datanets.set_curator(world.datanet_id, world.client(WORKER).address, True)
    daemon = daemon_for(world, auto_review=(world.datanet_id,))
    daemon.start()
    fresh = contribute(world, CONTRIBUTORS[0], sentiment_records(6, seed=9))
    accepted_rows = sentiment_records(36)[0::3]  # the first contributor's accepted file, lightly edited
    copied = contribute(world, CONTRIBUTORS[1], [{**r, "text": r["text"] + " !"} for r in accepted_rows])
    bad = b'{"text": "no label here"}\n'
    bad_cid = world.store.add(bad)
    invalid = (
        world.client(CONTRIBUTORS[2]).datanets.contribute(world.datanet_id, bad_cid, len(bad), 1).created_id
    )
    daemon.run(until=lambda: daemon.ctx.tasks.counts().get("done") == 3, timeout=60)
    registry = world.client(0).datanets
    assert registry.get_contribution(fresh).status == ContributionStatus.ACCEPTED
    assert registry.get_contribution(copied).status == ContributionStatus.REJECTED
    assert registry.get_contribution(invalid).status == ContributionStatus.REJECTED
    reasons = {e["contributionId"]: e for e in registry.get_events("ContributionReviewed")}
    assert b"duplicate" in world.store.cat(reasons[copied]["reasonCid"])
    assert b"invalid" in world.store.cat(reasons[invalid]["reasonCid"])
