"""Receipts of a struck epoch are never lost: after a lapsed challenge the same provider posts them again
in its next epoch; after an upheld one the provider is revoked, and they are posted again once the owner
makes it the provider again (its receipts are its own: only it can sign for them)."""

from __future__ import annotations

from epoch_helpers import EPOCH, posted_epoch, service_for
from paidmodel import MODEL_OWNER, OPEN, STRANGER, WORKER

from worker.chain.governance import pass_proposal, resolve_epoch_challenge_proposal
from worker.chain.types import ZERO_ADDRESS, EpochStatus
from worker.rewards import load_report, verify_epoch


def _keys(report) -> list[tuple[int, int]]:
    return [(r.payment_id, r.request_index) for r in report.receipts]


def _challenge(live) -> None:
    live.client(STRANGER).vault.challenge_epoch(live.model_id, 0, "bafy-i-disagree")


def test_a_lapsed_challenge_puts_the_receipts_in_the_next_epoch(serving) -> None:
    live, vault = serving.live, serving.live.client(0).vault
    first = posted_epoch(serving)
    _challenge(live)
    service = service_for(serving)
    [waiting] = service.tick()
    assert (waiting.action, waiting.epoch) == ("waiting", 0) and "governance rules by" in waiting.detail

    live.chain.dev.increase_time(vault.ruling_period() + 1)  # nobody rules: the worker lapses it itself
    events = service.tick()
    assert [(e.epoch, e.action) for e in events] == [(0, "struck"), (1, "closed"), (1, "posted")]
    assert events[0].tx is not None and "4 receipt(s) go to the next epoch" in events[0].detail
    assert vault.get_epoch(live.model_id, 0).status == EpochStatus.NONE
    second = load_report(live.store, vault.report_cid(live.model_id, 1))
    assert _keys(second) == _keys(first) and second.amounts == first.amounts
    assert vault.pool(live.model_id).reserved == second.total  # the voided total went back, then again
    states = [(e.epoch, e.state) for e in serving.receipts.epochs(live.model_id)]
    assert states == [(0, "struck"), (1, "posted")]
    assert serving.receipts.pending(live.model_id) == []
    assert verify_epoch(live.client(0), live.store, live.model_id, 1).ok  # not "already paid in epoch 0"


def _make_provider_again(live) -> None:
    """The owner asks for training again and, the worker having been revoked, accepts its new result
    itself (a revoked provider's result never goes live by `finalize` alone)."""
    owner, worker = live.client(MODEL_OWNER), live.client(WORKER)
    result = owner.models.get_job(live.job_id).result
    job = owner.models.request_training(live.model_id, 10 * OPEN).created_id
    worker.models.claim_job(job)
    worker.models.submit_result(
        job, result.adapter_cid, result.metrics_cid, result.attribution_root, result.report_cid
    )
    live.chain.dev.increase_time(worker.models.params().challenge_window + 1)
    worker.models.finalize(job)
    assert owner.models.get_model(live.model_id).compute_provider == ZERO_ADDRESS  # waits for the owner
    owner.models.activate_result(job)


def test_an_upheld_challenge_revokes_the_poster_whose_receipts_wait_until_it_serves_again(serving) -> None:
    live, governance = serving.live, serving.live.client(0)
    first = posted_epoch(serving)
    _challenge(live)
    proposal = resolve_epoch_challenge_proposal(governance, live.model_id, 0, True)
    pass_proposal(governance, proposal, [governance])
    assert governance.models.get_model(live.model_id).compute_provider == ZERO_ADDRESS

    service = service_for(serving)
    events = service.tick()
    assert [(e.epoch, e.action) for e in events] == [(0, "struck"), (-1, "skipped")]
    assert len(serving.receipts.pending(live.model_id)) == 4  # kept, not posted by a revoked worker

    _make_provider_again(live)
    live.chain.dev.increase_time(EPOCH)
    events = service.tick()
    assert [(e.epoch, e.action) for e in events] == [(1, "closed"), (1, "posted")]
    second = load_report(live.store, governance.vault.report_cid(live.model_id, 1))
    assert _keys(second) == _keys(first)
    assert verify_epoch(governance, live.store, live.model_id, 1).ok
