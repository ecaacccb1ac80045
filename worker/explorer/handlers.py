"""Protocol events -> explorer tables: the one place that knows the contracts' events.

`HANDLERS` maps (contract, event) to a small function of (transaction, event); an ABI change touches one
entry here. The follower calls `ExplorerSink.apply` in chain order inside the transaction that moves its
cursor; on a reorg it has already dropped the logged events above the fork, so `rewind` empties the
derived tables and folds the surviving event log again: the indexed state is always exactly a fold of
the events the follower holds, whatever depth the reorg had. The cost is a fold of the whole log (under
the database lock) per reorg, however shallow: 0.1-0.3 s per 10,000 events on a 2-core machine
(docs/EXPLORER.md).

An event a handler cannot apply (a bug, a value no column can hold) is rolled back alone (a SAVEPOINT),
recorded in `indexing_problems` (served by /api/status) and skipped: one bad event never wedges the batch
that carries it, and the follower's cursor moves on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from worker.chain.events import DecodedEvent
from worker.database import DatabaseUnavailable, Transaction
from worker.explorer.schema import CHAIN_TABLES

Handler = Callable[[Transaction, DecodedEvent], None]
log = logging.getLogger("openledger.explorer")


# -- argument coercion: live events carry bytes and ints, replayed ones their JSON forms -------------


def _int(value: Any) -> int:
    return int(value)


def _amount(value: Any) -> str:
    """A uint64/uint256 an account chooses (an amount, a count it declares): TEXT, as SQLite's integers
    stop at 2**63 - 1."""
    return str(int(value))


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def _add(a: str, b: Any) -> str:
    return str(int(a) + int(b))


def upsert(db: Transaction, table: str, unique: tuple[str, ...], /, **values: Any) -> None:
    """INSERT, or on a row with the same `unique` key UPDATE every other column given (the one upsert both
    SQLite and PostgreSQL accept)."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    updates = ", ".join(f"{c} = excluded.{c}" for c in values if c not in unique)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    conflict = ", ".join(unique)
    db.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT ({conflict}) {action}",  # noqa: S608
        tuple(values.values()),
    )


# -- DatanetRegistry ---------------------------------------------------------------------------------


def datanet_created(db: Transaction, e: DecodedEvent) -> None:
    stake, review_period, slash_bps = e["policy"]
    upsert(
        db, "datanets", ("id",), id=_int(e["datanetId"]), owner=e["owner"], treasury=e["treasury"],
        metadata_cid=e["metadataCid"], stake=_amount(stake), review_period=_amount(review_period),
        slash_bps=_int(slash_bps), created_at=_int(e["createdAt"]), block=e.block_number, tx=e.tx_hash,
    )  # fmt: skip


def curator_set(db: Transaction, e: DecodedEvent) -> None:
    upsert(
        db, "curators", ("datanet_id", "curator"), datanet_id=_int(e["datanetId"]), curator=e["curator"],
        enabled=int(bool(e["enabled"])), block=e.block_number,
    )  # fmt: skip


def contribution_submitted(db: Transaction, e: DecodedEvent) -> None:
    datanet = _int(e["datanetId"])
    upsert(
        db, "contributions", ("id",), id=_int(e["contributionId"]), datanet_id=datanet,
        contributor=e["contributor"], cid=e["contentCid"], byte_size=_amount(e["byteSize"]),
        record_count=_amount(e["recordCount"]), stake=_amount(e["stake"]),
        submitted_at=_int(e["submittedAt"]), status="pending", block=e.block_number, tx=e.tx_hash,
    )  # fmt: skip
    db.execute("UPDATE datanets SET contribution_count = contribution_count + 1 WHERE id = ?", (datanet,))


def contribution_reviewed(db: Transaction, e: DecodedEvent) -> None:
    accepted = bool(e["accepted"])
    db.execute(
        "UPDATE contributions SET status = ?, curator = ?, reason_cid = ?, slashed = ?, refunded = ?, "
        "stake_released = ?, reviewed_block = ? WHERE id = ?",
        (
            "accepted" if accepted else "rejected", e["curator"], e["reasonCid"], _amount(e["slashed"]),
            _amount(e["refunded"]), int(not accepted), e.block_number, _int(e["contributionId"]),
        ),
    )  # fmt: skip
    if accepted:
        db.execute(
            "UPDATE datanets SET accepted_count = accepted_count + 1 WHERE id = ?", (_int(e["datanetId"]),)
        )


def stake_released(db: Transaction, e: DecodedEvent) -> None:
    db.execute("UPDATE contributions SET stake_released = 1 WHERE id = ?", (_int(e["contributionId"]),))


def contribution_withdrawn(db: Transaction, e: DecodedEvent) -> None:
    db.execute(
        "UPDATE contributions SET status = 'withdrawn', stake_released = 1 WHERE id = ?",
        (_int(e["contributionId"]),),
    )


def version_published(db: Transaction, e: DecodedEvent) -> None:
    datanet = _int(e["datanetId"])
    upsert(
        db, "versions", ("datanet_id", "version_id"), datanet_id=datanet, version_id=_int(e["versionId"]),
        merkle_root=_hex(e["merkleRoot"]), manifest_cid=e["manifestCid"],
        record_count=_amount(e["recordCount"]), contribution_count=_amount(e["contributionCount"]),
        published_at=_int(e["publishedAt"]), block=e.block_number, tx=e.tx_hash,
    )  # fmt: skip
    db.execute("UPDATE datanets SET version_count = version_count + 1 WHERE id = ?", (datanet,))


# -- ModelRegistry: models and the training-job timeline ---------------------------------------------


def model_registered(db: Transaction, e: DecodedEvent) -> None:
    upsert(
        db, "models", ("id",), id=_int(e["modelId"]), owner=e["owner"], datanet_id=_int(e["datanetId"]),
        version_id=_int(e["versionId"]), base_model=e["baseModel"], spec_cid=e["trainingSpecCid"],
        price=_amount(e["pricePerInference"]), block=e.block_number, tx=e.tx_hash,
    )  # fmt: skip


def model_derived(db: Transaction, e: DecodedEvent) -> None:
    db.execute(
        "UPDATE models SET parent_model_id = ?, parent_job_id = ?, lineage_depth = ? WHERE id = ?",
        (_int(e["parentModelId"]), _int(e["parentJobId"]), _int(e["depth"]), _int(e["modelId"])),
    )


def price_set(db: Transaction, e: DecodedEvent) -> None:
    db.execute("UPDATE models SET price = ? WHERE id = ?", (_amount(e["price"]), _int(e["modelId"])))


def model_live(db: Transaction, e: DecodedEvent) -> None:
    db.execute(
        "UPDATE models SET live = 1, live_job_id = ?, provider = ?, adapter_cid = ? WHERE id = ?",
        (_int(e["jobId"]), e["computeProvider"], e["adapterCid"], _int(e["modelId"])),
    )


def provider_revoked(db: Transaction, e: DecodedEvent) -> None:
    db.execute("UPDATE models SET provider = '' WHERE id = ?", (_int(e["modelId"]),))


def _timeline(db: Transaction, e: DecodedEvent, **detail: Any) -> None:
    upsert(
        db, "job_events", ("block", "log_index"), job_id=_int(e["jobId"]), block=e.block_number,
        log_index=e.log_index, name=e.name, detail=json.dumps(detail, sort_keys=True), tx=e.tx_hash,
    )  # fmt: skip


def _job(db: Transaction, job_id: int, **fields: Any) -> None:
    columns = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*fields.values(), job_id))


def training_requested(db: Transaction, e: DecodedEvent) -> None:
    upsert(
        db, "jobs", ("id",), id=_int(e["jobId"]), model_id=_int(e["modelId"]), requester=e["requester"],
        bounty=_amount(e["bounty"]), status="open", block=e.block_number, tx=e.tx_hash,
    )  # fmt: skip
    _timeline(db, e, requester=e["requester"], bounty=_amount(e["bounty"]))


def job_claimed(db: Transaction, e: DecodedEvent) -> None:
    _job(
        db, _int(e["jobId"]), status="claimed", worker=e["worker"], lease_expires_at=_int(e["leaseExpiresAt"])
    )
    _timeline(db, e, worker=e["worker"], lease_expires_at=_int(e["leaseExpiresAt"]))


def lease_renewed(db: Transaction, e: DecodedEvent) -> None:
    _job(db, _int(e["jobId"]), lease_expires_at=_int(e["leaseExpiresAt"]))
    _timeline(db, e, lease_expires_at=_int(e["leaseExpiresAt"]))


def job_released(db: Transaction, e: DecodedEvent) -> None:
    _job(db, _int(e["jobId"]), status="open", worker="", lease_expires_at=None)
    _timeline(db, e, worker=e["worker"])


def job_cancelled(db: Transaction, e: DecodedEvent) -> None:
    _job(db, _int(e["jobId"]), status="cancelled")
    _timeline(db, e, refund=_amount(e["refund"]))


def result_submitted(db: Transaction, e: DecodedEvent) -> None:
    _job(
        db, _int(e["jobId"]), status="submitted", adapter_cid=e["adapterCid"], metrics_cid=e["metricsCid"],
        attribution_root=_hex(e["attributionRoot"]), report_cid=e["reportCid"],
        challenge_deadline=_int(e["challengeDeadline"]),
    )  # fmt: skip
    _timeline(db, e, adapter_cid=e["adapterCid"], challenge_deadline=_int(e["challengeDeadline"]))


def result_challenged(db: Transaction, e: DecodedEvent) -> None:
    _job(db, _int(e["jobId"]), status="challenged")
    _timeline(db, e, challenger=e["challenger"], reason_cid=e["reasonCid"], bond=_amount(e["bond"]))


def challenge_window_reopened(db: Transaction, e: DecodedEvent) -> None:
    _job(db, _int(e["jobId"]), status="submitted", challenge_deadline=_int(e["challengeDeadline"]))
    _timeline(db, e, challenge_deadline=_int(e["challengeDeadline"]))


def challenge_resolved(db: Transaction, e: DecodedEvent) -> None:
    if bool(e["upheld"]):  # the result is voided: the job is Open again
        _job(db, _int(e["jobId"]), status="open", worker="", adapter_cid="", metrics_cid="", report_cid="")
    _timeline(db, e, upheld=bool(e["upheld"]), slashed=_amount(e["slashed"]))


def challenge_lapsed(db: Transaction, e: DecodedEvent) -> None:
    _job(db, _int(e["jobId"]), status="open", worker="", adapter_cid="", metrics_cid="", report_cid="")
    _timeline(db, e, challenger=e["challenger"])


def job_finalized(db: Transaction, e: DecodedEvent) -> None:
    _job(db, _int(e["jobId"]), status="finalized")
    _timeline(db, e, worker=e["worker"], bounty=_amount(e["bounty"]))


def result_awaiting_owner(db: Transaction, e: DecodedEvent) -> None:
    _timeline(db, e, worker=e["worker"])


# -- WorkerRegistry ------------------------------------------------------------------------------------


def worker_registered(db: Transaction, e: DecodedEvent) -> None:
    upsert(
        db, "workers", ("address",), address=e["worker"], stake=_amount(e["stake"]), endpoint=e["endpoint"],
        registered_at=_int(e["registeredAt"]), status="active", block=e.block_number,
    )  # fmt: skip


def endpoint_updated(db: Transaction, e: DecodedEvent) -> None:
    db.execute("UPDATE workers SET endpoint = ? WHERE address = ?", (e["endpoint"], e["worker"]))


def stake_added(db: Transaction, e: DecodedEvent) -> None:
    db.execute("UPDATE workers SET stake = ? WHERE address = ?", (_amount(e["newStake"]), e["worker"]))


def exit_requested(db: Transaction, e: DecodedEvent) -> None:
    db.execute(
        "UPDATE workers SET status = 'exiting', withdrawable_at = ? WHERE address = ?",
        (_int(e["withdrawableAt"]), e["worker"]),
    )


def stake_withdrawn(db: Transaction, e: DecodedEvent) -> None:
    db.execute("UPDATE workers SET status = 'exited', stake = '0' WHERE address = ?", (e["worker"],))


def worker_slashed(db: Transaction, e: DecodedEvent) -> None:
    row = db.execute("SELECT slashed FROM workers WHERE address = ?", (e["worker"],)).one()
    if row is not None:
        db.execute(
            "UPDATE workers SET stake = ?, slashed = ? WHERE address = ?",
            (_amount(e["remainingStake"]), _add(row[0], e["amount"]), e["worker"]),
        )


def worker_locks(db: Transaction, e: DecodedEvent) -> None:
    db.execute("UPDATE workers SET locked = ? WHERE address = ?", (_amount(e["locked"]), e["worker"]))


# -- RewardVault: payments, epochs, claims -------------------------------------------------------------


def inference_paid(db: Transaction, e: DecodedEvent) -> None:
    upsert(
        db, "payments", ("id",), id=_int(e["paymentId"]), model_id=_int(e["modelId"]), payer=e["payer"],
        request_count=_amount(e["requestCount"]), amount=_amount(e["amount"]),
        treasury_share=_amount(e["treasuryShare"]), owner_share=_amount(e["ownerShare"]),
        provider_share=_amount(e["providerShare"]), contributors_share=_amount(e["contributorsShare"]),
        block=e.block_number, tx=e.tx_hash,
    )  # fmt: skip


def _epoch(db: Transaction, e: DecodedEvent, **fields: Any) -> None:
    columns = ", ".join(f"{name} = ?" for name in fields)
    db.execute(
        f"UPDATE epochs SET {columns} WHERE model_id = ? AND epoch = ?",
        (*fields.values(), _int(e["modelId"]), _int(e["epoch"])),
    )


def epoch_posted(db: Transaction, e: DecodedEvent) -> None:
    upsert(
        db, "epochs", ("model_id", "epoch"), model_id=_int(e["modelId"]), epoch=_int(e["epoch"]),
        poster=e["poster"], root=_hex(e["root"]), total=_amount(e["total"]), report_cid=e["reportCid"],
        status="posted", challenge_deadline=_int(e["challengeDeadline"]), collateral=_amount(e["collateral"]),
        block=e.block_number, tx=e.tx_hash,
    )  # fmt: skip


def epoch_challenged(db: Transaction, e: DecodedEvent) -> None:
    _epoch(db, e, status="challenged")


def epoch_challenge_resolved(db: Transaction, e: DecodedEvent) -> None:
    if bool(e["upheld"]):  # struck down: the epoch may be posted again
        db.execute(
            "DELETE FROM epochs WHERE model_id = ? AND epoch = ?", (_int(e["modelId"]), _int(e["epoch"]))
        )


def epoch_window_reopened(db: Transaction, e: DecodedEvent) -> None:
    _epoch(db, e, status="posted", challenge_deadline=_int(e["challengeDeadline"]))


def epoch_challenge_lapsed(db: Transaction, e: DecodedEvent) -> None:
    db.execute("DELETE FROM epochs WHERE model_id = ? AND epoch = ?", (_int(e["modelId"]), _int(e["epoch"])))


def epoch_finalized(db: Transaction, e: DecodedEvent) -> None:
    _epoch(db, e, status="finalized", claim_deadline=_int(e["claimDeadline"]))


def claimed(db: Transaction, e: DecodedEvent) -> None:
    upsert(
        db, "claims", ("model_id", "epoch", "leaf_index"), model_id=_int(e["modelId"]),
        epoch=_int(e["epoch"]), leaf_index=_amount(e["index"]), account=e["account"],
        amount=_amount(e["amount"]), block=e.block_number, tx=e.tx_hash,
    )  # fmt: skip


def epoch_swept(db: Transaction, e: DecodedEvent) -> None:
    _epoch(db, e, status="swept", unclaimed=_amount(e["unclaimed"]))


# -- ChallengeSettlement (ModelRegistry and RewardVault): credited balances -----------------------------


def credited(db: Transaction, e: DecodedEvent) -> None:
    row = db.execute(
        "SELECT credited FROM credits WHERE contract = ? AND account = ?", (e.contract, e["account"])
    ).one()
    total = _add(row[0] if row else "0", e["amount"])
    db.execute(
        "INSERT INTO credits (contract, account, balance, credited, withdrawn, block) VALUES "
        "(?, ?, ?, ?, '0', ?) "
        "ON CONFLICT (contract, account) DO UPDATE SET balance = excluded.balance, credited = "
        "excluded.credited, "
        "block = excluded.block",
        (e.contract, e["account"], _amount(e["balance"]), total, e.block_number),
    )


def withdrawn(db: Transaction, e: DecodedEvent) -> None:
    row = db.execute(
        "SELECT withdrawn FROM credits WHERE contract = ? AND account = ?", (e.contract, e["account"])
    ).one()
    if row is not None:  # a withdrawal pays out the whole credited balance
        db.execute(
            "UPDATE credits SET balance = '0', withdrawn = ?, block = ? WHERE contract = ? AND account = ?",
            (_add(row[0], e["amount"]), e.block_number, e.contract, e["account"]),
        )


HANDLERS: dict[tuple[str, str], Handler] = {
    ("DatanetRegistry", "DatanetCreated"): datanet_created,
    ("DatanetRegistry", "CuratorSet"): curator_set,
    ("DatanetRegistry", "ContributionSubmitted"): contribution_submitted,
    ("DatanetRegistry", "ContributionReviewed"): contribution_reviewed,
    ("DatanetRegistry", "StakeReleased"): stake_released,
    ("DatanetRegistry", "ContributionWithdrawn"): contribution_withdrawn,
    ("DatanetRegistry", "VersionPublished"): version_published,
    ("ModelRegistry", "ModelRegistered"): model_registered,
    ("ModelRegistry", "ModelDerived"): model_derived,
    ("ModelRegistry", "PriceSet"): price_set,
    ("ModelRegistry", "ModelLive"): model_live,
    ("ModelRegistry", "ProviderRevoked"): provider_revoked,
    ("ModelRegistry", "TrainingRequested"): training_requested,
    ("ModelRegistry", "JobClaimed"): job_claimed,
    ("ModelRegistry", "LeaseRenewed"): lease_renewed,
    ("ModelRegistry", "JobReleased"): job_released,
    ("ModelRegistry", "JobCancelled"): job_cancelled,
    ("ModelRegistry", "ResultSubmitted"): result_submitted,
    ("ModelRegistry", "ResultChallenged"): result_challenged,
    ("ModelRegistry", "ChallengeWindowReopened"): challenge_window_reopened,
    ("ModelRegistry", "ChallengeResolved"): challenge_resolved,
    ("ModelRegistry", "ChallengeLapsed"): challenge_lapsed,
    ("ModelRegistry", "JobFinalized"): job_finalized,
    ("ModelRegistry", "ResultAwaitingOwner"): result_awaiting_owner,
    ("ModelRegistry", "Credited"): credited,
    ("ModelRegistry", "Withdrawn"): withdrawn,
    ("WorkerRegistry", "WorkerRegistered"): worker_registered,
    ("WorkerRegistry", "EndpointUpdated"): endpoint_updated,
    ("WorkerRegistry", "StakeAdded"): stake_added,
    ("WorkerRegistry", "ExitRequested"): exit_requested,
    ("WorkerRegistry", "StakeWithdrawn"): stake_withdrawn,
    ("WorkerRegistry", "WorkerSlashed"): worker_slashed,
    ("WorkerRegistry", "WorkerLocked"): worker_locks,
    ("WorkerRegistry", "WorkerUnlocked"): worker_locks,
    ("RewardVault", "InferencePaid"): inference_paid,
    ("RewardVault", "EpochPosted"): epoch_posted,
    ("RewardVault", "EpochChallenged"): epoch_challenged,
    ("RewardVault", "EpochChallengeResolved"): epoch_challenge_resolved,
    ("RewardVault", "EpochChallengeWindowReopened"): epoch_window_reopened,
    ("RewardVault", "EpochChallengeLapsed"): epoch_challenge_lapsed,
    ("RewardVault", "EpochFinalized"): epoch_finalized,
    ("RewardVault", "Claimed"): claimed,
    ("RewardVault", "EpochSwept"): epoch_swept,
    ("RewardVault", "Credited"): credited,
    ("RewardVault", "Withdrawn"): withdrawn,
}


class ExplorerSink:
    """The follower's EventSink for the explorer: `HANDLERS` in chain order, replay on a reorg."""

    def apply(self, db: Transaction, event: DecodedEvent) -> None:
        apply_event(db, event)

    def rewind(self, db: Transaction, fork_block: int) -> None:
        """Rebuild every chain table from the event log (the follower already dropped what the fork took).
        Reorgs are rare and shallow; a fold of the log is simpler and safer than undoing each update."""
        for table in CHAIN_TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are constants
        db.execute("DELETE FROM block_times WHERE number > ?", (fork_block,))
        replay(db)


def replay(db: Transaction) -> int:
    """Fold the logged events (chain order) through HANDLERS; returns how many were applied."""
    applied = 0
    rows = db.execute(
        "SELECT block, log_index, block_hash, tx_hash, contract, name, args FROM events ORDER "
        "BY block, log_index"
    ).rows
    for block, log_index, block_hash, tx_hash, contract, name, args in rows:
        event = DecodedEvent(
            contract=str(contract),
            name=str(name),
            args=json.loads(args),
            address="",
            block_number=int(block),
            log_index=int(log_index),
            tx_hash=str(tx_hash),
            block_hash=str(block_hash),
        )
        applied += apply_event(db, event)
    return applied


def apply_event(db: Transaction, event: DecodedEvent) -> bool:
    """Apply one event through its handler, alone: if the handler fails, its writes are rolled back, the
    failure is recorded in `indexing_problems` and the caller goes on with the next event."""
    handler = HANDLERS.get((event.contract, event.name))
    if handler is None:
        return False
    db.execute("SAVEPOINT explorer_event")
    try:
        handler(db, event)
    except DatabaseUnavailable:  # the database, not the event: the whole batch is retried later
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a handler meets, the other events go on
        db.execute("ROLLBACK TO SAVEPOINT explorer_event")
        message = f"{type(exc).__name__}: {exc}"[:500]
        log.warning(
            "cannot index %s.%s at block %d: %s", event.contract, event.name, event.block_number, message
        )
        upsert(
            db, "indexing_problems", ("block", "log_index"), block=event.block_number,
            log_index=event.log_index, contract=event.contract, name=event.name, tx=event.tx_hash,
            error=message,
        )  # fmt: skip
    finally:
        db.execute("RELEASE SAVEPOINT explorer_event")
    return True
