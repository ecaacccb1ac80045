"""Stage 3: paid inference with per-answer attribution, then the epoch payout.

The worker serves the live model over HTTP on loopback (a thread of this process); a user pays on-chain
and receives several answers, each with a receipt signed by the worker and verified by the user; a
replayed request is refused. The epoch service aggregates the stored receipts into contributor amounts,
posts the root with the report, and finalizes it after the challenge window (Anvil's clock is advanced);
`verify epoch` recomputes it; each contributor claims with a proof from the report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eth_utils.crypto import keccak

from worker.billing import ReceiptLog
from worker.config import load_settings
from worker.data.sentiment_corpus import sentiment_records
from worker.demo.actors import Actors
from worker.demo.journal import Journal
from worker.demo.training_stage import LiveModel
from worker.rewards import EpochEvent, EpochService, claim, load_report, verify_epoch
from worker.serve import InferenceClient, InferenceFailed, InferenceService, ServerThread, create_app
from worker.storage import ContentStore
from worker.units import OPEN

STAGE = "rewards"
REQUESTS = 8  # answers the user pays for and receives
EPOCH_SECONDS = 3600


@dataclass(frozen=True)
class EpochPayout:
    epoch: int
    total: int
    amounts: dict[str, int]
    report_cid: str


def _questions() -> list[str]:
    """Tweets nobody contributed (the corpus tail, before the 20 the training stage queries)."""
    return [r["text"] for r in sentiment_records(seed=7)[-20 - REQUESTS : -20]]


def ask(
    actors: Actors, journal: Journal, live: LiveModel, server: ServerThread, stage: str = STAGE
) -> None:
    user = actors.client(actors.user)
    names = actors.address_names()
    with InferenceClient(user, server.url) as client:
        price = user.models.get_model(live.model_id).price_per_inference
        paid = journal.tx(
            stage,
            "user",
            f"payForInference {REQUESTS} requests ({REQUESTS * price / OPEN:g} OPEN)",
            client.pay(live.model_id, REQUESTS, keccak(os.urandom(32))),
        )
        payment = int(paid.created_id or 0)
        for index, text in enumerate(_questions()):
            answer = client.predict(live.model_id, text, payment, index)
            receipt = answer.receipt
            top = " ".join(
                f"{names.get(c, c[:10])} {w / 10_000:.0f}%"
                for c, w in zip(receipt.contributors, receipt.weights_ppm, strict=True)
            )
            journal.note(f"answer {index}: {answer.output['label']:<8} {text[:30]!r:<34} receipt ok; {top}")
        try:
            client.predict(live.model_id, _questions()[0], payment, 0)
        except InferenceFailed as refused:
            journal.note(f"replaying request 0: HTTP {refused.status} {refused.code}")


TX_OF_ACTION = {"posted": "postEpochRoot", "finalized": "finalizeEpoch", "struck": "lapseEpochChallenge"}


def _journal_events(journal: Journal, events: list[EpochEvent], stage: str = STAGE) -> None:
    for event in events:
        if event.tx is not None:
            actor = "worker" if event.action == "posted" else "anyone"
            journal.tx(stage, actor, f"{TX_OF_ACTION[event.action]} epoch {event.epoch}", event.tx)
        else:
            journal.note(f"epoch {event.epoch}: {event.action} {event.detail}")


def settle(
    actors: Actors,
    store: ContentStore,
    journal: Journal,
    live: LiveModel,
    receipts: ReceiptLog,
    stage: str = STAGE,
) -> int:
    """Close the epoch from the receipts, post it, finalize it after the window; returns its number."""
    worker = actors.client(actors.worker)
    service = EpochService(worker, store, receipts, EPOCH_SECONDS, models=[live.model_id])
    service.tick()  # opens the model's epoch window
    worker.dev.increase_time(EPOCH_SECONDS)
    events = service.tick()
    _journal_events(journal, events, stage)
    epoch = next(e.epoch for e in events if e.action == "posted")
    worker.dev.increase_time(worker.vault.challenge_window() + 1)
    journal.note(f"no challenge within the {worker.vault.challenge_window()} s window (Anvil clock advanced)")
    _journal_events(journal, service.tick(), stage)
    check = verify_epoch(actors.client(actors.user), store, live.model_id, epoch)
    journal.note(
        f"verify epoch {epoch}: {'match' if check.ok else 'MISMATCH'} ({check.receipts} receipts re-checked, "
        f"root {check.root[:14]}…)"
    )
    return epoch


def claim_all(
    actors: Actors, store: ContentStore, journal: Journal, live: LiveModel, epoch: int, stage: str = STAGE
) -> EpochPayout:
    vault = actors.client(actors.user).vault
    cid = vault.report_cid(live.model_id, epoch)
    report = load_report(store, cid)
    by_address: dict[str, int] = {actors.client(i).address: i for i in actors.contributors}
    for account, amount in report.amounts.items():
        claimer = actors.client(by_address[account])
        journal.tx(
            stage,
            actors.name(by_address[account]),
            f"claim {amount / OPEN:.4f} OPEN (proof from report {cid[:12]}…)",
            claim(claimer, store, live.model_id, epoch),
        )
    return EpochPayout(epoch, report.total, report.amounts, cid)


def withdraw_fee_shares(actors: Actors, journal: Journal) -> None:
    for index in (actors.model_owner, actors.worker):
        client = actors.client(index)
        if client.vault.credited(client.address):
            journal.tx(STAGE, actors.name(index), "withdraw fee share", client.vault.withdraw())


def run(actors: Actors, store: ContentStore, journal: Journal, live: LiveModel) -> EpochPayout:
    journal.stage("3. Rewards: paid answers with receipts, epoch root, claims")
    worker = actors.client(actors.worker)
    home = load_settings().home
    receipts = ReceiptLog.for_deployment(worker.deployment, home)
    service = InferenceService(worker, store, receipts, home / "models")
    service.catalog.get(live.model_id)  # fetch the adapter bundle (every file verified) and load it
    with ServerThread(create_app(service)) as server:
        journal.note(
            f"worker serves model {live.model_id} at {server.url} "
            f"(receipts in {Path(receipts.location).name})"
        )
        ask(actors, journal, live, server)
    epoch = settle(actors, store, journal, live, receipts)
    payout = claim_all(actors, store, journal, live, epoch)
    withdraw_fee_shares(actors, journal)
    receipts.close()
    return payout
