"""Challenge outcomes not covered by the lifecycle: an upheld epoch challenge, a rejected job challenge
(the window reopens), a challenge nobody rules on (it lapses).

Resolved by an admin-kept deployer (no vote) to stay fast; the lifecycle test covers the Governor path."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from worker.chain.devnet import LocalChain
from worker.chain.reverts import TransactionReverted
from worker.chain.types import ZERO_ADDRESS, EpochStatus, JobStatus
from worker.demo.scenarios import fund, live_model, model_with_job, registered_worker
from worker.merkle import ClaimTree


def test_upheld_epoch_challenge_slashes_the_poster_and_revokes_it(admin_devnet: LocalChain) -> None:
    model_id, _ = live_model(admin_devnet)
    worker, challenger, admin = admin_devnet.client(7), admin_devnet.client(8), admin_devnet.client(0)
    pool = worker.vault.pool(model_id).available
    tree = ClaimTree.of([(admin_devnet.client(3).address, pool)])
    worker.vault.post_epoch_root(model_id, 0, tree.root, pool, "bafy-wrong")
    collateral = worker.vault.collateral_for(pool)
    assert admin.workers.locked_stake(worker.address) == collateral
    fund(admin_devnet, (8,))
    bond = challenger.vault.challenge_bond()
    challenger.vault.challenge_epoch(model_id, 0, "bafy-recount")
    assert worker.vault.get_epoch(model_id, 0).status == EpochStatus.CHALLENGED
    stake = admin.workers.get_worker(worker.address).stake
    resolved = admin.vault.resolve_epoch_challenge(model_id, 0, True).event("EpochChallengeResolved")
    slashed = min(stake, max(int(admin.vault.view("slashAmount")), collateral))
    reward = slashed * int(admin.vault.view("challengerRewardBps")) // 10_000
    assert (resolved["upheld"], resolved["slashed"], resolved["challengerPayout"]) == (
        True,
        slashed,
        bond + reward,
    )
    assert admin.workers.get_worker(worker.address).stake == stake - slashed
    assert admin.vault.credited(challenger.address) == bond + reward
    assert admin.vault.get_epoch(model_id, 0).status == EpochStatus.NONE
    assert admin.vault.pool(model_id) == type(admin.vault.pool(model_id))(pool, 0)  # back to available
    # A provider caught posting a false root serves the model no more: only the owner names a new one.
    assert admin.models.compute_provider_of(model_id) == ZERO_ADDRESS
    with pytest.raises(TransactionReverted) as revoked:
        worker.vault.post_epoch_root(model_id, 0, tree.root, pool, "bafy-again")
    assert revoked.value.error_name == "NotComputeProvider"


def test_rejected_job_challenge_pays_the_bond_to_the_treasury_and_reopens_the_window(
    admin_devnet: LocalChain,
) -> None:
    _, job_id = model_with_job(admin_devnet)
    registered_worker(admin_devnet, 7)
    worker, challenger, admin = admin_devnet.client(7), admin_devnet.client(8), admin_devnet.client(0)
    worker.models.claim_job(job_id)
    worker.models.submit_result(job_id, "bafyadapter", "bafymetrics", keccak(text="attr"), "bafyreport")
    fund(admin_devnet, (8,))
    params = admin.models.params()
    treasury_before = admin.models.credited(admin.timelock)
    challenger.models.challenge_result(job_id, "bafy-i-disagree")
    rejected = admin.models.resolve_challenge(job_id, False)
    # A squatting challenge (e.g. the poster's own second account) cannot run the window out.
    reopened = rejected.event("ChallengeWindowReopened")["challengeDeadline"]
    assert reopened == admin_devnet.dev.timestamp() + params.challenge_window
    job = admin.models.get_job(job_id)
    assert (job.status, job.challenge_deadline, job.worker) == (JobStatus.SUBMITTED, reopened, worker.address)
    assert not job.dispute.open
    assert admin.models.credited(admin.timelock) - treasury_before == params.challenge_bond
    assert admin.models.credited(challenger.address) == 0
    admin_devnet.dev.increase_time(reopened - admin_devnet.dev.timestamp() + 1)
    with pytest.raises(TransactionReverted) as late:
        challenger.models.challenge_result(job_id, "bafy-again")
    assert late.value.error_name == "ChallengeWindowClosed"
    assert late.value.args["challengeDeadline"] == reopened
    assert admin.models.finalize(job_id).event("JobFinalized")["worker"] == worker.address


def test_a_challenge_nobody_rules_on_lapses(admin_devnet: LocalChain) -> None:
    _, job_id = model_with_job(admin_devnet)
    registered_worker(admin_devnet, 7)
    worker, challenger = admin_devnet.client(7), admin_devnet.client(8)
    worker.models.claim_job(job_id)
    worker.models.submit_result(job_id, "bafyadapter", "bafymetrics", keccak(text="attr"), "bafyreport")
    fund(admin_devnet, (8,))
    stake = worker.workers.stake_of(worker.address)
    challenged = challenger.models.challenge_result(job_id, "bafy-i-disagree").event("ResultChallenged")
    dispute = worker.models.get_job(job_id).dispute
    assert (dispute.challenger, dispute.ruling_deadline) == (challenger.address, challenged["rulingDeadline"])
    with pytest.raises(TransactionReverted) as early:
        challenger.models.lapse_challenge(job_id)
    assert (early.value.error_name, early.value.args) == (
        "RulingPeriodActive",
        {"rulingDeadline": dispute.ruling_deadline},
    )
    admin_devnet.dev.increase_time(dispute.ruling_deadline - admin_devnet.dev.timestamp() + 1)
    lapsed = admin_devnet.client(9).models.lapse_challenge(job_id).event("ChallengeLapsed")  # anyone
    assert (lapsed["challenger"], lapsed["worker"], lapsed["bond"]) == (
        challenger.address,
        worker.address,
        dispute.bond,
    )
    job = worker.models.get_job(job_id)
    assert (job.status, job.worker, job.result.adapter_cid) == (JobStatus.OPEN, ZERO_ADDRESS, "")
    assert worker.models.credited(challenger.address) == dispute.bond  # the bond goes back
    assert worker.workers.stake_of(worker.address) == stake  # nobody slashed
    assert worker.workers.locked_stake(worker.address) == 0  # collateral released


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
