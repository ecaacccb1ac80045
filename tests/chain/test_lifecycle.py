"""The whole protocol from Python on a real Anvil, governance through Governor + Timelock, every token
movement accounted for to the wei."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from eth_utils import keccak

from worker.chain.client import ChainClient
from worker.chain.devnet import LocalChain
from worker.chain.governance import pass_proposal, resolve_challenge_proposal
from worker.chain.reverts import TransactionReverted
from worker.chain.types import ContributionStatus, EpochStatus, JobStatus, ModelStatus, Policy
from worker.merkle import ClaimTree
from worker.units import OPEN

FUNDING = 10_000 * OPEN
STAKE = 10 * OPEN
SLASH_BPS = 2_500
REVIEW_PERIOD = 3600
BOUNTY = 500 * OPEN
WORKER_STAKE = 1_000 * OPEN  # a claim of BOUNTY locks 1.5x BOUNTY of it
PRICE = 2 * OPEN
ODD_PRICE = 1_234_567_891  # wei: makes the fee split round


@dataclass
class Cast:
    """Who is who: dev account index -> role."""

    devnet: LocalChain
    gov: ChainClient = field(init=False)
    owner: ChainClient = field(init=False)
    curator: ChainClient = field(init=False)
    contributors: list[ChainClient] = field(init=False)
    model_owner: ChainClient = field(init=False)
    worker_a: ChainClient = field(init=False)
    worker_b: ChainClient = field(init=False)
    challenger: ChainClient = field(init=False)
    payer: ChainClient = field(init=False)
    datanet_treasury: ChainClient = field(init=False)

    def __post_init__(self) -> None:
        c = self.devnet.client
        self.gov, self.owner, self.curator = c(0), c(1), c(2)
        self.contributors = [c(3), c(4), c(5)]
        self.model_owner, self.worker_a, self.challenger, self.payer = c(6), c(7), c(8), c(9)
        self.worker_b, self.datanet_treasury = c(10), c(11)

    def everyone(self) -> list[ChainClient]:
        return [
            self.owner,
            self.curator,
            *self.contributors,
            self.model_owner,
            self.worker_a,
            self.worker_b,
            self.challenger,
            self.payer,
            self.datanet_treasury,
        ]


class Ledger:
    """Expected token balance changes; `check` compares them with the chain."""

    def __init__(self, token_client: ChainClient, accounts: list[str]):
        self.client = token_client
        self.accounts = accounts
        self.start = {a: token_client.token.balance_of(a) for a in accounts}
        self.delta: dict[str, int] = defaultdict(int)

    def move(self, source: str | None, target: str | None, amount: int) -> None:
        if source is not None:
            self.delta[source] -= amount
        if target is not None:
            self.delta[target] += amount

    def check(self) -> None:
        for account in self.accounts:
            actual = self.client.token.balance_of(account) - self.start[account]
            assert actual == self.delta[account], f"{account}: moved {actual}, expected {self.delta[account]}"


def _fund(cast: Cast) -> None:
    for client in cast.everyone():
        cast.gov.token.transfer(client.address, FUNDING)


def _datanet_and_contributions(cast: Cast, ledger: Ledger) -> tuple[int, list[int]]:
    policy = Policy(STAKE, REVIEW_PERIOD, SLASH_BPS)
    created = cast.owner.datanets.create_datanet(
        "bafymeta", cast.datanet_treasury.address, policy, [cast.curator.address]
    )
    datanet_id = created.created_id
    assert datanet_id == 1 and created.event("CuratorSet")["curator"] == cast.curator.address
    registry = cast.owner.datanets.address
    ids = [
        cast.contributors[0].datanets.contribute(datanet_id, "bafy-a", 2048, 40).created_id,
        cast.contributors[1].datanets.contribute(datanet_id, "bafy-b", 1024, 25).created_id,
    ]
    nonce_before = cast.contributors[2].token.nonces(cast.contributors[2].address)
    with_permit = cast.contributors[2].datanets.contribute_with_permit(datanet_id, "bafy-c", 512, 10)
    assert [e.name for e in with_permit.events].count("Approval") >= 1  # the permit set the allowance
    assert cast.contributors[2].token.nonces(cast.contributors[2].address) == nonce_before + 1
    ids.append(with_permit.created_id)
    rejected = cast.contributors[1].datanets.contribute(datanet_id, "bafy-spam", 99, 3).created_id
    for contributor in (0, 1, 2, 1):
        ledger.move(cast.contributors[contributor].address, registry, STAKE)
    assert ids == [1, 2, 3] and rejected == 4
    return datanet_id, ids + [rejected]


def _review(cast: Cast, ledger: Ledger, ids: list[int]) -> None:
    for contribution_id in ids[:3]:
        cast.curator.datanets.review(contribution_id, True)
    reviewed = cast.curator.datanets.review(ids[3], False, "bafyreason")
    slashed, refunded = STAKE * SLASH_BPS // 10_000, STAKE - STAKE * SLASH_BPS // 10_000
    event = reviewed.event("ContributionReviewed")
    assert (event["accepted"], event["slashed"], event["refunded"]) == (False, slashed, refunded)
    registry = cast.owner.datanets.address
    ledger.move(registry, cast.datanet_treasury.address, slashed)
    ledger.move(registry, cast.contributors[1].address, refunded)
    statuses = [cast.owner.datanets.get_contribution(i).status for i in ids]
    assert statuses == [ContributionStatus.ACCEPTED] * 3 + [ContributionStatus.REJECTED]
    assert cast.owner.datanets.get_contribution(ids[3]).reason_cid == "bafyreason"


def _publish_and_register(cast: Cast, datanet_id: int, ledger: Ledger) -> tuple[int, int]:
    root = keccak(text="accepted contributions 1,2,3")
    version = cast.owner.datanets.publish_version(datanet_id, root, "bafymanifest", 75, 3)
    assert version.created_id == 1
    assert cast.owner.datanets.get_version(datanet_id, 1).merkle_root == root
    model_id = cast.model_owner.models.register_model(datanet_id, 1, "minilm", "bafyspec", PRICE).created_id
    job_id = cast.model_owner.models.request_training(model_id, BOUNTY).created_id
    ledger.move(cast.model_owner.address, cast.owner.models.address, BOUNTY)
    assert cast.owner.models.get_job(job_id).status == JobStatus.OPEN
    return model_id, job_id


def _train_and_get_challenged(cast: Cast, job_id: int, ledger: Ledger) -> None:
    workers = cast.owner.workers.address
    cast.worker_a.workers.register_worker(WORKER_STAKE, "http://worker-a")
    ledger.move(cast.worker_a.address, workers, WORKER_STAKE)
    claimed = cast.worker_a.models.claim_job(job_id).event("JobClaimed")
    params = cast.worker_a.models.params()
    assert claimed["leaseExpiresAt"] == cast.devnet.dev.timestamp() + params.lease_duration
    collateral = params.collateral(BOUNTY)
    assert claimed["collateral"] == collateral == cast.owner.models.get_job(job_id).locked_stake
    assert cast.owner.workers.free_stake(cast.worker_a.address) == WORKER_STAKE - collateral
    cast.worker_a.models.submit_result(
        job_id, "bafy-bad-adapter", "bafymetrics", keccak(text="attr"), "bafyrep"
    )
    bond = cast.challenger.models.params().challenge_bond
    cast.challenger.models.challenge_result(job_id, "bafy-recomputed-differs")
    ledger.move(cast.challenger.address, cast.owner.models.address, bond)
    assert cast.owner.models.get_job(job_id).status == JobStatus.CHALLENGED


def _resolve_through_governance(cast: Cast, job_id: int, ledger: Ledger) -> None:
    models = cast.gov.models
    params = models.params()
    stake_before = cast.gov.workers.get_worker(cast.worker_a.address).stake
    collateral = models.get_job(job_id).locked_stake
    with pytest.raises(TransactionReverted) as denied:  # nobody but the timelock may judge
        cast.gov.models.resolve_challenge(job_id, True)
    assert denied.value.error_name == "AccessControlUnauthorizedAccount"
    outcome = pass_proposal(cast.gov, resolve_challenge_proposal(cast.gov, job_id, True), [cast.gov])
    resolved = outcome.executed.event("ChallengeResolved")
    slashed = min(stake_before, max(params.slash_amount, collateral))  # in proportion to the bounty
    reward = slashed * params.challenger_reward_bps // 10_000
    assert (resolved["upheld"], resolved["slashed"]) == (True, slashed)
    assert resolved["challengerPayout"] == params.challenge_bond + reward
    assert resolved["treasuryPayout"] == slashed - reward
    assert cast.gov.workers.get_worker(cast.worker_a.address).stake == stake_before - slashed
    assert cast.gov.workers.locked_stake(cast.worker_a.address) == 0
    job = models.get_job(job_id)
    assert (job.status, job.worker, job.result.adapter_cid) == (JobStatus.OPEN, "0x" + "0" * 40, "")
    ledger.move(cast.owner.workers.address, models.address, slashed)
    cast.challenger.models.withdraw()
    ledger.move(models.address, cast.challenger.address, params.challenge_bond + reward)
    cast.gov.models.withdraw_for(cast.gov.timelock)
    ledger.move(models.address, cast.gov.timelock, slashed - reward)


def _retrain_and_finalize(cast: Cast, model_id: int, job_id: int, ledger: Ledger) -> None:
    cast.worker_b.workers.register_worker(WORKER_STAKE, "http://worker-b")
    ledger.move(cast.worker_b.address, cast.owner.workers.address, WORKER_STAKE)
    cast.worker_b.models.claim_job(job_id)
    cast.worker_b.models.submit_result(
        job_id, "bafy-good-adapter", "bafymetrics2", keccak(text="a2"), "bafyrep2"
    )
    with pytest.raises(TransactionReverted) as early:
        cast.payer.models.finalize(job_id)
    assert early.value.error_name == "ChallengeWindowOpen"
    cast.devnet.dev.increase_time(cast.payer.models.params().challenge_window + 1)
    final = cast.payer.models.finalize(job_id)
    assert final.event("ModelLive")["adapterCid"] == "bafy-good-adapter"
    model = cast.payer.models.get_model(model_id)
    assert (model.status, model.compute_provider, model.live_job_id) == (
        ModelStatus.LIVE,
        cast.worker_b.address,
        job_id,
    )
    assert cast.payer.models.credited(cast.worker_b.address) == BOUNTY
    assert cast.payer.workers.locked_stake(cast.worker_b.address) == 0  # collateral released
    cast.worker_b.models.withdraw()
    ledger.move(cast.owner.models.address, cast.worker_b.address, BOUNTY)


def _expected_split(amount: int, split: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    treasury, owner, provider = (amount * bps // 10_000 for bps in split[:3])
    return treasury, owner, provider, amount - treasury - owner - provider


def _pay_for_inference(cast: Cast, model_id: int, ledger: Ledger) -> int:
    """Two payments (one with a price that does not divide evenly); returns the contributors' pool."""
    vault = cast.payer.vault
    split = vault.fee_split().as_tuple()
    pool = 0
    for price, count in ((PRICE, 7), (ODD_PRICE, 3)):
        if price != PRICE:
            cast.model_owner.models.set_price(model_id, price)
        paid = vault.pay_for_inference(model_id, count, keccak(text=f"requests-{count}"))
        event, expected = paid.event("InferencePaid"), _expected_split(price * count, split)
        shares = (
            event["treasuryShare"],
            event["ownerShare"],
            event["providerShare"],
            event["contributorsShare"],
        )
        assert event["amount"] == price * count and shares == expected
        ledger.move(cast.payer.address, vault.address, price * count)
        pool += expected[3]
    treasury, owner, provider, _ = (
        sum(x)
        for x in zip(_expected_split(PRICE * 7, split), _expected_split(ODD_PRICE * 3, split), strict=True)
    )
    assert vault.credited(cast.gov.timelock) == treasury
    assert vault.credited(cast.model_owner.address) == owner
    assert vault.credited(cast.worker_b.address) == provider
    assert vault.pool(model_id).available == pool
    for client, amount in ((cast.model_owner, owner), (cast.worker_b, provider)):
        client.vault.withdraw()
        ledger.move(vault.address, client.address, amount)
    vault.withdraw_for(cast.gov.timelock)
    ledger.move(vault.address, cast.gov.timelock, treasury)
    return pool


def _epoch_rewards(cast: Cast, model_id: int, pool: int, ledger: Ledger) -> None:
    weights = (5, 3, 2)  # attribution shares of the three accepted contributors
    amounts = [pool * w // 10 for w in weights]
    amounts[0] += pool - sum(amounts)  # rounding dust to the first, so the root pays the whole pool
    entries = [(c.address, a) for c, a in zip(cast.contributors, amounts, strict=True)]
    tree = ClaimTree.of(entries)
    posted = cast.worker_b.vault.post_epoch_root(model_id, 0, tree.root, pool, "bafyepochreport")
    assert posted.event("EpochPosted")["total"] == pool and cast.payer.vault.pool(model_id).reserved == pool
    assert cast.payer.workers.locked_stake(cast.worker_b.address) == cast.payer.vault.collateral_for(pool)
    cast.devnet.dev.increase_time(cast.payer.vault.challenge_window() + 1)
    cast.payer.vault.finalize_epoch(model_id, 0)
    assert cast.payer.vault.get_epoch(model_id, 0).status == EpochStatus.FINALIZED
    for index, (account, amount) in enumerate(entries):
        claimer = cast.contributors[index] if index else cast.payer  # anyone may claim for an account
        claimed = claimer.vault.claim(model_id, 0, index, account, amount, tree.proof(index))
        assert claimed.event("Claimed")["amount"] == amount
        ledger.move(cast.payer.vault.address, account, amount)
    with pytest.raises(TransactionReverted) as again:
        cast.contributors[1].vault.claim(model_id, 0, 1, entries[1][0], entries[1][1], tree.proof(1))
    assert again.value.error_name == "AlreadyClaimed"
    assert again.value.args == {"modelId": model_id, "epoch": 0, "index": 1}
    # Claims do not touch the pool: the epoch stays reserved until it is swept after its claim period.
    assert cast.payer.vault.pool(model_id) == type(cast.payer.vault.pool(model_id))(0, pool)
    assert cast.payer.workers.locked_stake(cast.worker_b.address) == 0


def _release_stakes(cast: Cast, ids: list[int], ledger: Ledger) -> None:
    for contribution_id, contributor in zip(ids[:3], cast.contributors, strict=True):
        cast.payer.datanets.release_stake(contribution_id)
        ledger.move(cast.owner.datanets.address, contributor.address, STAKE)
    assert cast.payer.datanets.total_stake_held() == 0


def test_full_lifecycle_through_governance(devnet: LocalChain) -> None:
    cast = Cast(devnet)
    _fund(cast)
    c = cast.gov
    contracts = [c.datanets.address, c.workers.address, c.models.address, c.vault.address, c.timelock]
    ledger = Ledger(c, [x.address for x in cast.everyone()] + contracts)
    datanet_id, ids = _datanet_and_contributions(cast, ledger)
    _review(cast, ledger, ids)
    model_id, job_id = _publish_and_register(cast, datanet_id, ledger)
    _train_and_get_challenged(cast, job_id, ledger)
    _resolve_through_governance(cast, job_id, ledger)
    _retrain_and_finalize(cast, model_id, job_id, ledger)
    pool = _pay_for_inference(cast, model_id, ledger)
    _epoch_rewards(cast, model_id, pool, ledger)
    _release_stakes(cast, ids, ledger)
    ledger.check()
    # What is left in the contracts is exactly what they still owe: the two workers' stakes.
    assert c.token.balance_of(c.datanets.address) == 0
    assert c.token.balance_of(c.models.address) == 0
    assert c.token.balance_of(c.vault.address) == 0
    stakes = sum(c.workers.get_worker(w.address).stake for w in (cast.worker_a, cast.worker_b))
    assert c.token.balance_of(c.workers.address) == stakes
