"""Contributors' side: what each epoch owes an account, and claims with proofs built from the report.

Proofs come from the epoch report whose CID is on-chain, and every claim is checked before any gas is
spent: the epoch must be finalized, the leaf unclaimed, and the proof must lead to the on-chain root (a
proof from an outdated report, e.g. of an epoch struck down and re-posted, is refused as stale).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eth_utils import to_checksum_address

from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.chain.types import Epoch, EpochStatus
from worker.merkle import CLAIM_LEAF, StandardMerkleTree
from worker.rewards.errors import RewardsError
from worker.rewards.reports import load_report
from worker.storage import ContentStore


@dataclass(frozen=True)
class Entitlement:
    model_id: int
    epoch: int
    account: str
    amount: int
    status: EpochStatus
    claimed: bool
    challenge_deadline: int
    report_cid: str
    problem: str = ""

    @property
    def state(self) -> str:
        if self.problem:
            return "unavailable"
        if self.claimed:
            return "claimed"
        return {
            EpochStatus.FINALIZED: "claimable",
            EpochStatus.POSTED: "in challenge window",
            EpochStatus.CHALLENGED: "challenged",
        }.get(self.status, self.status.name.lower())


def _models(client: ChainClient, model_ids: Iterable[int] | None) -> list[int]:
    return sorted(model_ids) if model_ids is not None else list(range(1, client.models.model_count() + 1))


def _entitlement(
    client: ChainClient, store: ContentStore, model_id: int, epoch: int, onchain: Epoch, account: str
) -> Entitlement | None:
    def row(amount: int, problem: str = "") -> Entitlement:
        claimed = bool(amount) and client.vault.is_claimed(model_id, epoch, account, amount)
        return Entitlement(
            model_id,
            epoch,
            account,
            amount,
            onchain.status,
            claimed,
            onchain.challenge_deadline,
            onchain.report_cid,
            problem,
        )

    try:
        report = load_report(store, onchain.report_cid)
    except RewardsError as exc:
        return row(0, str(exc))
    if report.root != onchain.root:
        return row(0, f"report {onchain.report_cid} does not lead to the on-chain root (stale or forged)")
    amount = report.amounts.get(account, 0)
    return row(amount) if amount else None


def entitlements(
    client: ChainClient, store: ContentStore, account: str, model_ids: Iterable[int] | None = None
) -> list[Entitlement]:
    """Every posted epoch that pays `account`, with its claim state (reports fetched and checked)."""
    account = to_checksum_address(account)
    found = []
    for model_id in _models(client, model_ids):
        for epoch in range(client.vault.next_epoch(model_id)):
            onchain = client.vault.get_epoch(model_id, epoch)
            if onchain.status == EpochStatus.NONE:
                continue
            entry = _entitlement(client, store, model_id, epoch, onchain, account)
            if entry is not None:
                found.append(entry)
    return found


def check_claim(
    client: ChainClient, model_id: int, epoch: int, account: str, amount: int, proof: Sequence[bytes]
) -> None:
    """Everything the vault would check, read-only: raises RewardsError before any gas is spent."""
    onchain = client.vault.get_epoch(model_id, epoch)
    where = f"epoch {epoch} of model {model_id}"
    if onchain.status != EpochStatus.FINALIZED:
        if onchain.status == EpochStatus.POSTED:
            raise RewardsError(
                f"{where} is still in its challenge window (until {onchain.challenge_deadline}); "
                "claim after it is finalized"
            )
        raise RewardsError(f"{where} is {onchain.status.name.lower()}: nothing can be claimed from it")
    if client.vault.is_claimed(model_id, epoch, account, amount):
        raise RewardsError(f"{account} already claimed {amount} wei from {where}; nothing was sent")
    if not StandardMerkleTree.verify_proof(onchain.root, CLAIM_LEAF, [account, amount], list(proof)):
        raise RewardsError(
            f"the proof for {account} ({amount} wei) does not lead to the on-chain root of {where}: it is "
            "stale (built from another report); rebuild it from the report on-chain. Nothing was sent"
        )


def submit_claim(
    client: ChainClient, model_id: int, epoch: int, account: str, amount: int, proof: Sequence[bytes]
) -> TxResult:
    """Claim with a given proof, after `check_claim` (the tokens always go to `account`)."""
    account = to_checksum_address(account)
    check_claim(client, model_id, epoch, account, amount, proof)
    return client.vault.claim(model_id, epoch, account, amount, proof)


def proof_from_report(
    client: ChainClient, store: ContentStore, model_id: int, epoch: int, account: str
) -> tuple[int, list[bytes]]:
    """(amount, proof) of `account` in the report whose CID is on-chain for that epoch."""
    account = to_checksum_address(account)
    onchain = client.vault.get_epoch(model_id, epoch)
    if onchain.status == EpochStatus.NONE:
        raise RewardsError(f"epoch {epoch} of model {model_id} was never posted (or was struck down)")
    report = load_report(store, onchain.report_cid)
    amount = report.amounts.get(account)
    if not amount:
        raise RewardsError(f"{account} earns nothing in epoch {epoch} of model {model_id}")
    return amount, report.tree().proof_for(account, amount)


def claim(
    client: ChainClient, store: ContentStore, model_id: int, epoch: int, account: str | None = None
) -> TxResult:
    """Claim `account`'s (default: the client's) amount of one epoch, proof from the on-chain report."""
    account = to_checksum_address(account or client.address)
    amount, proof = proof_from_report(client, store, model_id, epoch, account)
    return submit_claim(client, model_id, epoch, account, amount, proof)


def claimable_targets(
    client: ChainClient, store: ContentStore, model_ids: Iterable[int] | None = None
) -> list[tuple[int, int]]:
    """(model, epoch) of every epoch the client's account can claim right now."""
    rows = entitlements(client, store, client.address, model_ids)
    return [(e.model_id, e.epoch) for e in rows if e.state == "claimable"]
