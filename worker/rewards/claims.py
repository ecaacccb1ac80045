"""Contributors' side: what each epoch owes an account, claims with proofs built from the report, and
sweeping an expired epoch back into the pool.

Proofs come from the epoch report whose CID the chain recorded (`EpochPosted`), and every claim is checked
before any gas is spent: the epoch must be finalized and inside its claim period, the leaf unclaimed, and
the proof must lead to the on-chain root (a proof from an outdated report, e.g. of an epoch struck down
and re-posted, is refused as stale). After the claim deadline the unclaimed rest is not lost: anyone may
sweep it back into the model's pool, which pays later epochs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.chain.types import Epoch, EpochStatus
from worker.merkle import ClaimLeaf, MerkleTreeError, verify_claim
from worker.rewards.errors import RewardsError
from worker.rewards.reports import load_report
from worker.storage import ContentStore


@dataclass(frozen=True)
class Entitlement:
    model_id: int
    epoch: int
    account: str
    index: int  # the account's leaf in the epoch's claim tree
    amount: int
    status: EpochStatus
    claimed: bool
    deadline: int  # end of the challenge window while posted/challenged, of the claim period after
    report_cid: str
    now: int  # chain time the row was read at
    problem: str = ""

    @property
    def state(self) -> str:
        if self.problem:
            return "unavailable"
        return entitlement_state(self.status, self.claimed, self.now, self.deadline)


def entitlement_state(status: EpochStatus, claimed: bool, now: int, deadline: int) -> str:
    """What an account can do with its amount of an epoch (also the explorer's, from its index)."""
    if claimed:
        return "claimed"
    if status == EpochStatus.FINALIZED:
        return "claimable" if now <= deadline else "expired"
    return {
        EpochStatus.POSTED: "in challenge window",
        EpochStatus.CHALLENGED: "challenged",
    }.get(status, status.name.lower())


def _models(client: ChainClient, model_ids: Iterable[int] | None) -> list[int]:
    return sorted(model_ids) if model_ids is not None else list(range(1, client.models.model_count() + 1))


def report_cids(client: ChainClient, model_id: int) -> dict[int, str]:
    """Epoch -> report CID of its latest `EpochPosted` (one log query for the whole model)."""
    vault = client.vault
    events = vault.get_events("EpochPosted", client.deployment.block_number, "latest", model_id)
    return {int(e.args["epoch"]): str(e.args["reportCid"]) for e in events}  # later posts win


def _entitlement(
    client: ChainClient, store: ContentStore, row: tuple[int, int, Epoch, str, int], account: str
) -> Entitlement | None:
    model_id, epoch, onchain, cid, now = row

    def entry(index: int, amount: int, problem: str = "") -> Entitlement:
        claimed = bool(amount) and client.vault.is_claimed(model_id, epoch, index)
        status, deadline = onchain.status, onchain.deadline
        return Entitlement(
            model_id, epoch, account, index, amount, status, claimed, deadline, cid, now, problem
        )

    try:
        report = load_report(store, cid)
    except RewardsError as exc:
        return entry(0, 0, str(exc))
    if report.root != onchain.root:
        return entry(0, 0, f"report {cid} does not lead to the on-chain root (stale or forged)")
    if not report.amounts.get(account):
        return None
    leaf = report.claim_tree.leaf_of(account)
    return entry(leaf.index, leaf.amount)


def entitlements(
    client: ChainClient, store: ContentStore, account: str, model_ids: Iterable[int] | None = None
) -> list[Entitlement]:
    """Every posted epoch that pays `account`, with its claim state (reports fetched and checked)."""
    account = to_checksum_address(account)
    now = client.latest_timestamp()
    found = []
    for model_id in _models(client, model_ids):
        cids = report_cids(client, model_id)
        for epoch in range(client.vault.next_epoch(model_id)):
            onchain = client.vault.get_epoch(model_id, epoch)
            if onchain.status == EpochStatus.NONE or epoch not in cids:
                continue
            entry = _entitlement(client, store, (model_id, epoch, onchain, cids[epoch], now), account)
            if entry is not None:
                found.append(entry)
    return found


def _require_claimable(client: ChainClient, model_id: int, epoch: int, onchain: Epoch) -> None:
    where = f"epoch {epoch} of model {model_id}"
    if onchain.status == EpochStatus.POSTED:
        raise RewardsError(
            f"{where} is still in its challenge window (until {onchain.deadline}); "
            "claim after it is finalized"
        )
    if onchain.status == EpochStatus.SWEPT:
        raise RewardsError(
            f"the claim period of {where} ended at {onchain.deadline} and its unclaimed rest went back to "
            "the model's pool: nothing can be claimed from it any more. Nothing was sent"
        )
    if onchain.status != EpochStatus.FINALIZED:
        raise RewardsError(f"{where} is {onchain.status.name.lower()}: nothing can be claimed from it")
    if client.latest_timestamp() > onchain.deadline:
        raise RewardsError(
            f"the claim period of {where} ended at {onchain.deadline}: it can no longer be claimed "
            f"(anyone may `openledger rewards sweep {model_id} {epoch}` to return it to the pool). "
            "Nothing was sent"
        )


def check_claim(
    client: ChainClient, model_id: int, epoch: int, leaf: ClaimLeaf, proof: Sequence[bytes]
) -> None:
    """Everything the vault would check, read-only: raises RewardsError before any gas is spent."""
    onchain = client.vault.get_epoch(model_id, epoch)
    _require_claimable(client, model_id, epoch, onchain)
    where = f"epoch {epoch} of model {model_id}"
    if client.vault.is_claimed(model_id, epoch, leaf.index):
        raise RewardsError(
            f"{leaf.account} already claimed {leaf.amount} wei (leaf {leaf.index}) from {where}; "
            "nothing was sent"
        )
    if not verify_claim(onchain.root, leaf, proof):
        raise RewardsError(
            f"the proof for {leaf.account} ({leaf.amount} wei, leaf {leaf.index}) does not lead to the "
            f"on-chain root of {where}: it is stale (built from another report); rebuild it from the "
            "report on-chain. Nothing was sent"
        )


def submit_claim(
    client: ChainClient, model_id: int, epoch: int, leaf: ClaimLeaf, proof: Sequence[bytes]
) -> TxResult:
    """Claim with a given leaf and proof, after `check_claim` (the tokens always go to the leaf's account)."""
    leaf = ClaimLeaf(leaf.index, to_checksum_address(leaf.account), leaf.amount)
    check_claim(client, model_id, epoch, leaf, proof)
    return client.vault.claim(model_id, epoch, leaf.index, leaf.account, leaf.amount, proof)


def proof_from_report(
    client: ChainClient, store: ContentStore, model_id: int, epoch: int, account: str
) -> tuple[ClaimLeaf, list[bytes]]:
    """(leaf, proof) of `account` in the report whose CID is on-chain for that epoch."""
    account = to_checksum_address(account)
    if client.vault.get_epoch(model_id, epoch).status == EpochStatus.NONE:
        raise RewardsError(f"epoch {epoch} of model {model_id} was never posted (or was struck down)")
    report = load_report(store, client.vault.report_cid(model_id, epoch))
    try:
        return report.claim_of(account)
    except MerkleTreeError:
        raise RewardsError(f"{account} earns nothing in epoch {epoch} of model {model_id}") from None


def claim(
    client: ChainClient, store: ContentStore, model_id: int, epoch: int, account: str | None = None
) -> TxResult:
    """Claim `account`'s (default: the client's) amount of one epoch, proof from the on-chain report."""
    leaf, proof = proof_from_report(client, store, model_id, epoch, account or client.address)
    return submit_claim(client, model_id, epoch, leaf, proof)


def claimable_targets(
    client: ChainClient, store: ContentStore, model_ids: Iterable[int] | None = None
) -> list[tuple[int, int]]:
    """(model, epoch) of every epoch the client's account can claim right now."""
    rows = entitlements(client, store, client.address, model_ids)
    return [(e.model_id, e.epoch) for e in rows if e.state == "claimable"]


def sweep(client: ChainClient, model_id: int, epoch: int) -> TxResult:
    """Return an expired epoch's unclaimed amount to the model's pool (anyone may), checked before gas."""
    onchain = client.vault.get_epoch(model_id, epoch)
    where = f"epoch {epoch} of model {model_id}"
    if onchain.status == EpochStatus.SWEPT:
        raise RewardsError(f"{where} was already swept; nothing was sent")
    if onchain.status != EpochStatus.FINALIZED:
        raise RewardsError(
            f"{where} is {onchain.status.name.lower()}: only a finalized epoch past its claim deadline can "
            "be swept. Nothing was sent"
        )
    now = client.latest_timestamp()
    if now <= onchain.deadline:
        raise RewardsError(
            f"{where} can still be claimed until {onchain.deadline} (in {onchain.deadline - now} s): it "
            "cannot be swept yet. Nothing was sent"
        )
    return client.vault.sweep_epoch(model_id, epoch)
