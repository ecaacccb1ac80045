"""Stage 3: users pay for inference; the fees split on-chain; the contributor pool is paid out per epoch
by attribution weight through a Merkle root; contributors claim."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak

from worker.data import canonical_json
from worker.demo.actors import OPEN, Actors
from worker.demo.journal import Journal
from worker.demo.training_stage import LiveModel
from worker.merkle import ClaimTree
from worker.storage import ContentStore

STAGE = "rewards"
PAYMENTS = (25, 15)  # request counts of the user's two payments


@dataclass(frozen=True)
class EpochPayout:
    epoch: int
    total: int
    amounts: dict[str, int]
    report_cid: str


def pay_for_inference(actors: Actors, journal: Journal, model_id: int) -> None:
    user = actors.client(actors.user)
    price = user.models.get_model(model_id).price_per_inference
    for n, requests in enumerate(PAYMENTS):
        journal.tx(
            STAGE,
            "user",
            f"payForInference {requests} requests ({requests * price / OPEN:g} OPEN)",
            user.vault.pay_for_inference(model_id, requests, keccak(text=f"demo-requests-{n}")),
        )
    pool = user.vault.pool(model_id)
    journal.note(
        f"contributor pool of model {model_id}: {pool.balance / OPEN:g} OPEN (split {user.vault.fee_split()})"
    )


def epoch_amounts(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Floor division keeps the sum within the pool; the dust stays for the next epoch."""
    weight_sum = sum(weights.values())
    return {
        account: total * w // weight_sum for account, w in sorted(weights.items()) if total * w // weight_sum
    }


def post_epoch(actors: Actors, store: ContentStore, journal: Journal, live: LiveModel) -> EpochPayout:
    worker = actors.client(actors.worker)
    epoch = worker.vault.next_epoch(live.model_id)
    amounts = epoch_amounts(worker.vault.pool(live.model_id).unallocated, live.weights)
    total = sum(amounts.values())
    tree = ClaimTree.of(list(amounts.items()))
    report = {
        "format": "openledger.epoch/1",
        "model": live.model_id,
        "epoch": epoch,
        "attribution_report": live.report_cid,
        "weights_ppm": live.weights,
        "amounts": {a: str(v) for a, v in amounts.items()},
        "root": "0x" + tree.root.hex(),
    }
    report_cid = store.add(canonical_json(report))
    journal.tx(
        STAGE,
        "worker",
        f"postEpochRoot epoch {epoch}: {len(amounts)} contributors, {total / OPEN:.4f} OPEN",
        worker.vault.post_epoch_root(live.model_id, epoch, tree.root, total, report_cid),
    )
    worker.dev.increase_time(worker.vault.challenge_window() + 1)
    journal.tx(
        STAGE,
        "anyone",
        f"finalizeEpoch {epoch} after the challenge window",
        worker.vault.finalize_epoch(live.model_id, epoch),
    )
    return EpochPayout(epoch, total, amounts, report_cid)


def claim_all(actors: Actors, journal: Journal, live: LiveModel, payout: EpochPayout) -> None:
    tree = ClaimTree.of(list(payout.amounts.items()))
    names = actors.address_names()
    by_address = {actors.client(i).address: i for i in actors.contributors}
    for account, amount in payout.amounts.items():
        proof = tree.proof_for(account, amount)
        claimer = actors.client(by_address[account])
        journal.tx(
            STAGE,
            names[account],
            f"claim {amount / OPEN:.4f} OPEN (proof of {len(proof)} nodes)",
            claimer.vault.claim(live.model_id, payout.epoch, account, amount, proof),
        )


def withdraw_fee_shares(actors: Actors, journal: Journal) -> None:
    for index in (actors.model_owner, actors.worker):
        client = actors.client(index)
        if client.vault.credited(client.address):
            journal.tx(STAGE, actors.name(index), "withdraw fee share", client.vault.withdraw())


def run(actors: Actors, store: ContentStore, journal: Journal, live: LiveModel) -> EpochPayout:
    journal.stage("3. Rewards: paid inference, epoch root, claims")
    pay_for_inference(actors, journal, live.model_id)
    payout = post_epoch(actors, store, journal, live)
    claim_all(actors, journal, live, payout)
    withdraw_fee_shares(actors, journal)
    return payout
