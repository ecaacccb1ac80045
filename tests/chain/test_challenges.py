"""Challenge outcomes not covered by the lifecycle: an upheld epoch challenge, a rejected job challenge.

Resolved by an admin-kept deployer (no vote) to stay fast; the lifecycle test covers the Governor path."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from worker.chain.devnet import LocalChain
from worker.chain.reverts import TransactionReverted
from worker.chain.types import EpochStatus, JobStatus
from worker.merkle import ClaimTree

from ._scenario import fund, live_model, model_with_job, registered_worker


def test_upheld_epoch_challenge_slashes_the_poster_and_frees_the_epoch(admin_devnet: LocalChain) -> None:
    model_id, _ = live_model(admin_devnet)
    worker, challenger, admin = admin_devnet.client(7), admin_devnet.client(8), admin_devnet.client(0)
    pool = worker.vault.pool(model_id)
    tree = ClaimTree.of([(admin_devnet.client(3).address, pool.balance)])
    worker.vault.post_epoch_root(model_id, 0, tree.root, pool.balance, "bafy-wrong")
    fund(admin_devnet, (8,))
    bond = challenger.vault.challenge_bond()
    challenger.vault.challenge_epoch(model_id, 0, "bafy-recount")
    assert worker.vault.get_epoch(model_id, 0).status == EpochStatus.CHALLENGED
    stake = admin.workers.get_worker(worker.address).stake
    resolved = admin.vault.resolve_epoch_challenge(model_id, 0, True).event("EpochChallengeResolved")
    slash_amount = int(admin.vault.view("slashAmount"))
    reward = min(slash_amount, stake) * int(admin.vault.view("challengerRewardBps")) // 10_000
    assert (resolved["upheld"], resolved["slashed"], resolved["challengerPayout"]) == (
        True,
        slash_amount,
        bond + reward,
    )
    assert admin.workers.get_worker(worker.address).stake == stake - slash_amount
    assert admin.vault.credited(challenger.address) == bond + reward
    assert admin.vault.get_epoch(model_id, 0).status == EpochStatus.NONE
    assert admin.vault.pool(model_id).reserved == 0
    worker.vault.post_epoch_root(
        model_id, 0, tree.root, pool.balance, "bafy-right"
    )  # epoch 0 may be re-posted
    assert admin.vault.get_epoch(model_id, 0).status == EpochStatus.POSTED


def test_rejected_job_challenge_pays_the_bond_to_the_treasury(admin_devnet: LocalChain) -> None:
    _, job_id = model_with_job(admin_devnet)
    registered_worker(admin_devnet, 7)
    worker, challenger, admin = admin_devnet.client(7), admin_devnet.client(8), admin_devnet.client(0)
    worker.models.claim_job(job_id)
    worker.models.submit_result(job_id, "bafyadapter", "bafymetrics", keccak(text="attr"), "bafyreport")
    deadline = admin.models.get_job(job_id).challenge_deadline
    fund(admin_devnet, (8,))
    bond = admin.models.params().challenge_bond
    treasury_before = admin.models.credited(admin.timelock)
    challenger.models.challenge_result(job_id, "bafy-i-disagree")
    admin.models.resolve_challenge(job_id, False)
    job = admin.models.get_job(job_id)
    assert (job.status, job.challenge_deadline, job.worker) == (JobStatus.SUBMITTED, deadline, worker.address)
    assert admin.models.credited(admin.timelock) - treasury_before == bond
    assert admin.models.credited(challenger.address) == 0
    admin_devnet.dev.increase_time(deadline - admin_devnet.dev.timestamp() + 1)
    with pytest.raises(TransactionReverted) as late:
        challenger.models.challenge_result(job_id, "bafy-again")
    assert (
        late.value.error_name == "ChallengeWindowClosed" and late.value.args["challengeDeadline"] == deadline
    )
    assert admin.models.finalize(job_id).event("JobFinalized")["worker"] == worker.address


def test_events_are_read_back_with_get_logs(admin_devnet: LocalChain) -> None:
    start = admin_devnet.w3.eth.block_number + 1
    model_id, job_id = live_model(admin_devnet)
    models = admin_devnet.client(0).models
    claimed = models.get_events("JobClaimed", from_block=start)
    assert [(e.args["jobId"], e.args["worker"]) for e in claimed] == [
        (job_id, admin_devnet.client(7).address)
    ]
    live = models.get_events("ModelLive", from_block=start)
    assert live[0].contract == "ModelRegistry" and live[0].args["modelId"] == model_id
    paid = admin_devnet.client(0).vault.get_events("InferencePaid", from_block=start)
    assert len(paid) == 1 and paid[0].args["requestCount"] == 50 and paid[0].block_number >= start
