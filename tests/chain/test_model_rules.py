"""The model rules of contracts v2 through the Python bindings, each shown by the attack it stops: a stranger
posting training for someone else's model, a retrained result taking over a live model, one stake backing
more work than it covers, a lease renewed forever, a bounty held hostage past the job's deadline."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from worker.chain.devnet import LocalChain
from worker.chain.model_registry import NotApprovedRequesterError
from worker.chain.reverts import TransactionReverted
from worker.chain.types import JobStatus
from worker.demo.scenarios import (
    BOUNTY,
    OPEN,
    WORKER_STAKE,
    fund,
    live_model,
    model_with_job,
    registered_worker,
)

OWNER, STRANGER = 6, 9  # the model owner of `model_with_job`, and anyone else


def _submit(chain: LocalChain, worker: int, job_id: int, adapter: str = "bafyadapter") -> None:
    models = chain.client(worker).models
    models.claim_job(job_id)
    models.submit_result(job_id, adapter, "bafymetrics", keccak(text=adapter), "bafyreport")
    chain.dev.increase_time(models.params().challenge_window + 1)


def test_a_stranger_cannot_post_training_for_someone_elses_model(devnet: LocalChain) -> None:
    model_id, _ = model_with_job(devnet)
    fund(devnet, (STRANGER,))
    owner, stranger = devnet.client(OWNER), devnet.client(STRANGER)
    nonce = devnet.w3.eth.get_transaction_count(stranger.address)
    with pytest.raises(NotApprovedRequesterError, match=f"only its owner {owner.address}"):
        stranger.models.request_training(model_id, BOUNTY)
    assert devnet.w3.eth.get_transaction_count(stranger.address) == nonce  # refused before any gas

    # Past the client's check, the contract itself refuses.
    stranger.token.ensure_allowance(stranger.models.address, OPEN)
    with pytest.raises(TransactionReverted) as forced:
        stranger.models.transact("requestTraining", model_id, OPEN)
    assert (forced.value.error_name, forced.value.args) == (
        "NotApprovedRequester",
        {"modelId": model_id, "caller": stranger.address},
    )
    with pytest.raises(TransactionReverted) as usurped:
        stranger.models.set_requester(model_id, stranger.address, True)
    assert usurped.value.error_name == "NotModelOwner"

    # The owner may delegate, and take it back.
    approved = owner.models.set_requester(model_id, stranger.address, True).event("RequesterSet")
    assert (approved["account"], approved["approved"]) == (stranger.address, True)
    assert stranger.models.request_training(model_id, OPEN).created_id is not None
    owner.models.set_requester(model_id, stranger.address, False)
    assert not stranger.models.is_approved_requester(model_id, stranger.address)
    with pytest.raises(NotApprovedRequesterError):
        stranger.models.request_training(model_id, OPEN)


def test_a_retrained_result_replaces_a_live_model_only_when_its_owner_accepts(devnet: LocalChain) -> None:
    model_id, first_job = live_model(devnet)  # worker 7 serves it
    owner = devnet.client(OWNER)
    retrain = owner.models.request_training(model_id, BOUNTY).created_id
    assert retrain is not None
    registered_worker(devnet, 8)
    _submit(devnet, 8, retrain, "bafy-retrained")
    finalized = devnet.client(STRANGER).models.finalize(retrain)
    awaiting = finalized.event("ResultAwaitingOwner")
    assert (awaiting["modelId"], awaiting["jobId"], awaiting["worker"]) == (
        model_id,
        retrain,
        devnet.client(8).address,
    )
    assert not finalized.events_named("ModelLive")
    model = owner.models.get_model(model_id)
    assert (model.live_job_id, model.compute_provider) == (first_job, devnet.client(7).address)

    with pytest.raises(TransactionReverted) as usurped:
        devnet.client(8).models.activate_result(retrain)
    assert usurped.value.error_name == "NotModelOwner"
    live = owner.models.activate_result(retrain).event("ModelLive")
    assert (live["jobId"], live["computeProvider"], live["adapterCid"]) == (
        retrain,
        devnet.client(8).address,
        "bafy-retrained",
    )
    with pytest.raises(TransactionReverted) as again:
        owner.models.activate_result(retrain)
    assert again.value.error_name == "AlreadyLive"


def test_a_claim_locks_collateral_from_the_free_stake(devnet: LocalChain) -> None:
    model_id, first = model_with_job(devnet)
    second = devnet.client(OWNER).models.request_training(model_id, BOUNTY).created_id
    registered_worker(devnet, 7)
    worker = devnet.client(7)
    collateral = worker.models.params().collateral(BOUNTY)
    worker.models.claim_job(first)
    assert worker.workers.locked_stake(worker.address) == collateral
    assert worker.workers.free_stake(worker.address) == WORKER_STAKE - collateral
    with pytest.raises(TransactionReverted) as short:  # one stake does not back unlimited work
        worker.models.claim_job(second)
    assert (short.value.error_name, short.value.args) == (
        "InsufficientFreeStake",
        {"worker": worker.address, "free": WORKER_STAKE - collateral, "amount": collateral},
    )
    worker.models.release_job(first)
    assert worker.workers.locked_stake(worker.address) == 0
    worker.models.claim_job(second)


def test_leases_are_capped_and_jobs_have_a_hard_deadline(admin_devnet: LocalChain) -> None:
    admin = admin_devnet.client(0).models
    lease = admin.params().lease_duration
    admin.set_max_lease_time(lease + lease // 3)
    admin.set_job_deadline(lease // 2)
    _, job_id = model_with_job(admin_devnet)
    registered_worker(admin_devnet, 7)
    worker = admin_devnet.client(7).models
    worker.claim_job(job_id)
    cap = worker.get_job(job_id).claimed_at + lease + lease // 3
    admin_devnet.dev.increase_time(lease // 2 + 1)  # past the job's hard deadline, lease still running
    assert worker.renew_lease(job_id).event("LeaseRenewed")["leaseExpiresAt"] == cap
    with pytest.raises(TransactionReverted) as capped:  # a lease holder cannot keep the bounty hostage
        worker.renew_lease(job_id)
    assert (capped.value.error_name, capped.value.args) == ("LeaseCapReached", {"jobId": job_id, "cap": cap})

    requester = admin_devnet.client(OWNER).models
    cancelled = requester.cancel_job(job_id).event("JobCancelled")  # the lease does not stop it now
    assert (cancelled["refund"], cancelled["worker"]) == (BOUNTY, admin_devnet.client(7).address)
    assert requester.get_job(job_id).status == JobStatus.CANCELLED
    assert admin_devnet.client(7).workers.locked_stake(admin_devnet.client(7).address) == 0

    late = requester.request_training(requester.get_job(job_id).model_id, BOUNTY).created_id
    admin_devnet.dev.increase_time(lease // 2 + 1)
    with pytest.raises(TransactionReverted) as expired:
        worker.claim_job(late)
    assert expired.value.error_name == "JobDeadlinePassed"
