"""Challenging posted work: a training job's result (ModelRegistry) or an epoch root (RewardVault).

The challenger's reason is a small canonical JSON document on content storage (like a review reason);
only its CID goes on-chain. Everything the contract would refuse (nothing to challenge, the window
closed, the bond not held) is checked first and raised as a ChainError before any gas is spent; the bond
is approved, then escrowed by the challenge itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.canonical import canonical_json
from worker.chain.bindings import TxResult
from worker.chain.client import ChainClient
from worker.storage import ContentStore

CHALLENGE_FORMAT = "openledger.challenge/1"


@dataclass(frozen=True)
class Challenge:
    bond: int
    reason_cid: str
    ruling_deadline: int
    tx: TxResult


def challenge_document(
    subject: dict[str, Any], challenger: str, reason: str, evidence: Any | None = None
) -> bytes:
    """The reason document: what is challenged, by whom, why, and optional evidence (e.g. the JSON of
    `openledger verify job --json`)."""
    document: dict[str, Any] = {
        "format": CHALLENGE_FORMAT,
        "subject": subject,
        "challenger": challenger,
        "reason": reason,
    }
    if evidence is not None:
        document["evidence"] = evidence
    return canonical_json(document)


def challenge_job(
    client: ChainClient, store: ContentStore, job_id: int, reason: str, evidence: Any | None = None
) -> Challenge:
    """Dispute job `job_id`'s submitted result, escrowing the challenge bond."""
    bond = client.models.check_challengeable(job_id)
    subject = {"kind": "job", "job_id": job_id, "result": _result(client, job_id)}
    reason_cid = store.add(challenge_document(subject, client.address, reason, evidence))
    tx = client.models.challenge_result(job_id, reason_cid)
    event = tx.event("ResultChallenged")
    return Challenge(int(event["bond"]) or bond, reason_cid, int(event["rulingDeadline"]), tx)


def challenge_epoch(
    client: ChainClient,
    store: ContentStore,
    model_id: int,
    epoch: int,
    reason: str,
    evidence: Any | None = None,
) -> Challenge:
    """Dispute the posted root of epoch `epoch` of model `model_id`, escrowing the epoch challenge bond."""
    bond = client.vault.check_epoch_challengeable(model_id, epoch)
    posted = client.vault.get_epoch(model_id, epoch)
    subject = {
        "kind": "epoch",
        "model_id": model_id,
        "epoch": epoch,
        "root": "0x" + bytes(posted.root).hex(),
        "total": str(posted.total),
        "report_cid": client.vault.report_cid(model_id, epoch),
    }
    reason_cid = store.add(challenge_document(subject, client.address, reason, evidence))
    tx = client.vault.challenge_epoch(model_id, epoch, reason_cid)
    event = tx.event("EpochChallenged")
    return Challenge(int(event["bond"]) or bond, reason_cid, int(event["rulingDeadline"]), tx)


def _result(client: ChainClient, job_id: int) -> dict[str, str]:
    result = client.models.get_job(job_id).result
    return {
        "adapter_cid": result.adapter_cid,
        "metrics_cid": result.metrics_cid,
        "report_cid": result.report_cid,
        "attribution_root": "0x" + bytes(result.attribution_root).hex(),
    }
