"""The durable receipt log: every signed receipt, written before its answer leaves the server, and the
epochs that pay them out.

One database (worker.database: a SQLite file by default, PostgreSQL for replicas on many machines): a
receipt is committed before `record` returns, and the pair (payment id, request index) is unique, so a
request unit is answered and counted once whatever the crashes and however many replicas race for it.
Closing an epoch assigns the model's pending receipts to it and creates the epoch row in one transaction:
after a kill -9 either both happened or neither did. An epoch struck down on-chain (upheld or lapsed
challenge) gives its receipts back to the pending pool in one transaction too, so the next epoch posts
them again. A receipt whose payment vanished from the chain (a reorg) is moved out to `excluded`, with
the reason, and its unit is free again for the payment now under that id. One log per deployment (chain
id, vault, deployment block hash, checked on open): a fresh local chain reuses payment ids and must not
see old receipts. Leases (`hold_lease`) let exactly one replica's epoch service act.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from worker.billing.errors import BillingError, DuplicateReceipt, LeaseLost, PaymentRequired
from worker.billing.receipts import Receipt
from worker.canonical import canonical_json
from worker.chain.deployment import Deployment
from worker.config import load_settings
from worker.database import Database, Row, SqliteStore, Transaction, UniqueViolation, open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    id {serial},
    model_id BIGINT NOT NULL,
    payment_id BIGINT NOT NULL,
    request_index BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    epoch BIGINT,
    answer TEXT NOT NULL DEFAULT '',
    payment_tx TEXT NOT NULL DEFAULT '',
    UNIQUE (payment_id, request_index)
);
CREATE INDEX IF NOT EXISTS receipts_by_epoch ON receipts (model_id, epoch);
CREATE TABLE IF NOT EXISTS excluded (
    payment_id BIGINT NOT NULL,
    request_index BIGINT NOT NULL,
    model_id BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    payment_tx TEXT NOT NULL,
    reason TEXT NOT NULL,
    excluded_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS epochs (
    model_id BIGINT NOT NULL,
    epoch BIGINT NOT NULL,
    state TEXT NOT NULL,
    receipts BIGINT NOT NULL,
    closed_at BIGINT NOT NULL,
    report_cid TEXT NOT NULL DEFAULT '',
    root TEXT NOT NULL DEFAULT '',
    total TEXT NOT NULL DEFAULT '0',
    manifest_block BIGINT NOT NULL DEFAULT 0,
    deferred TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (model_id, epoch)
);
CREATE TABLE IF NOT EXISTS windows (model_id BIGINT PRIMARY KEY, started_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS inflight (
    payment_id BIGINT NOT NULL,
    request_index BIGINT NOT NULL,
    reserved_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (payment_id, request_index)
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# A reservation older than this was left by a process that died mid-answer: the unit may be tried again.
RESERVATION_TTL_S = 120.0
SQLITE_MAX_INT = 2**63 - 1
Lease = tuple[str, str]  # (lease name, holder): a write made only while that holder holds it


class EpochState(StrEnum):
    CLOSED = "closed"  # receipts assigned to the epoch, not yet posted
    POSTED = "posted"  # root on-chain, in its challenge window
    FINALIZED = "finalized"  # claimable
    STRUCK = "struck"  # voided on-chain (upheld or lapsed challenge): its receipts are pending again


EPOCH_STATES = tuple(EpochState)


@dataclass(frozen=True)
class EpochRecord:
    model_id: int
    epoch: int
    state: EpochState
    receipts: int
    closed_at: int
    report_cid: str = ""
    root: str = ""
    total: int = 0
    manifest_block: int = 0  # the block the model's manifest entries (and the residue) were read at
    deferred: tuple[tuple[int, int], ...] = ()  # answered units of expired payments left for later


def deployment_key(deployment: Deployment) -> str:
    """What identifies a deployment: a log holds the receipts of exactly one."""
    vault = deployment.address("RewardVault").lower()
    return f"{deployment.chain_id}:{vault}:{deployment.block_hash.lower()}"


def default_log_path(deployment: Deployment, home: Path | None = None) -> Path:
    home = home or load_settings().home
    vault = deployment.address("RewardVault")
    return (
        home / "rewards" / f"{deployment.chain_id}-{vault[2:10].lower()}-{deployment.block_hash[2:10]}.sqlite"
    )


@dataclass(frozen=True)
class ExcludedReceipt:
    receipt: Receipt
    payment_tx: str  # the payment transaction the unit was answered for
    reason: str


class ReceiptLog:
    def __init__(self, target: str | Path | Database, deployment: Deployment | None = None):
        """`target`: a SQLite path, a postgresql:// URL or an open Database. With `deployment`, the log
        refuses to open if it holds another deployment's receipts."""
        self._db = target if isinstance(target, Database) else open_database(target, SCHEMA)
        self.location = self._db.location
        if isinstance(self._db, SqliteStore):
            _add_missing_columns(self._db)
        if deployment is not None:
            self._check_deployment(deployment_key(deployment))

    @property
    def database(self) -> Database:
        return self._db

    @classmethod
    def for_deployment(
        cls, deployment: Deployment, home: Path | None = None, url: str | None = None
    ) -> ReceiptLog:
        """The deployment's log: the database at `url`, else its SQLite file under the home folder."""
        return cls(url or default_log_path(deployment, home), deployment)

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> AbstractContextManager[Transaction]:
        return self._db.transaction()  # type: ignore[no-any-return]

    def _query(self, sql: str, *args: object) -> list[Row]:
        return self._db.query(sql, args)

    def _check_deployment(self, key: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('deployment', ?) ON CONFLICT DO NOTHING", (key,)
            )
            stored = db.execute("SELECT value FROM meta WHERE key = 'deployment'").one()
        if stored is not None and stored[0] != key:
            raise BillingError(
                f"the receipt log {self.location} belongs to deployment {stored[0]}, not {key} (a fresh "
                "chain reuses payment ids): give this deployment its own database"
            )

    # -- receipts ------------------------------------------------------------------------------------

    def reserve(
        self, payment_id: int, request_index: int, now: float | None = None, payment_tx: str = ""
    ) -> None:
        """Claim the request unit for one answer in progress (any process or replica on this log), before
        the model runs: a copy of the same signed request gets PaymentRequired `payment_in_flight` instead
        of a second inference, and an answered unit DuplicateReceipt. `release` or `record` ends it.

        `payment_tx`: the transaction of the (final) payment the unit is spent from now. A pending
        receipt that answered the same unit for another transaction answered a payment a reorg removed:
        it is excluded (never paid out), and the unit goes to the payer who holds the id now."""
        if not _storable(payment_id, request_index):
            raise PaymentRequired(
                f"request {request_index} of payment {payment_id} is beyond the 64-bit units this log keeps",
                code="payment_exhausted",
            )
        now = self._db.now() if now is None else now
        unit = (payment_id, request_index)
        with self._transaction() as db:
            db.execute(
                "DELETE FROM inflight WHERE payment_id = ? AND request_index = ? AND reserved_at < ?",
                (payment_id, request_index, now - RESERVATION_TTL_S),
            )
            taken = db.execute(
                "INSERT INTO inflight (payment_id, request_index, reserved_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (payment_id, request_index, now),
            ).rowcount
            # Checked after the claim: a replica that recorded the unit meanwhile ended its claim in the
            # same transaction as its receipt, so one of the two statements sees it (READ COMMITTED).
            answered = db.execute(
                "SELECT payment_tx, epoch FROM receipts WHERE payment_id = ? AND request_index = ?", unit
            ).one()
            if answered and _replaced(answered, payment_tx):
                reason = (
                    f"payment {payment_id} is now transaction {payment_tx.lower()}: the one this unit was "
                    f"answered for ({answered[0]}) left the chain in a reorg"
                )
                self._exclude_unit(db, unit, reason)
                answered = None
            if answered:
                db.execute(  # ours, if we just took it: the unit is answered, not in flight
                    "DELETE FROM inflight WHERE payment_id = ? AND request_index = ? AND reserved_at = ?",
                    (payment_id, request_index, now),
                )
        if answered:
            raise DuplicateReceipt(
                f"request index {request_index} of payment {payment_id} was already answered (its "
                f"receipt is at /v1/receipts/{payment_id}/{request_index}); use an unused index "
                f"(GET /v1/payments/{payment_id})"
            )
        if not taken:
            raise PaymentRequired(
                f"request {request_index} of payment {payment_id} is being answered right now (the same "
                "signed request arrived twice): wait for that answer, or use another index",
                code="payment_in_flight",
            )

    def release(self, payment_id: int, request_index: int) -> None:
        """End a reservation without an answer (the request failed): the unit stays unspent."""
        if not _storable(payment_id, request_index):
            return  # never reserved
        with self._transaction() as db:
            db.execute(
                "DELETE FROM inflight WHERE payment_id = ? AND request_index = ?", (payment_id, request_index)
            )

    def record(self, receipt: Receipt, output: Any = None, payment_tx: str = "") -> int:
        """Store a receipt and the answer's output durably (ending the unit's reservation in the same
        transaction), so a payer who lost the answer can fetch it again; DuplicateReceipt if its request
        unit already has one. `payment_tx`: the payment transaction the unit was checked against, so the
        epoch service can tell a payment a reorg replaced under the same id."""
        try:
            with self._transaction() as db:
                db.execute(
                    "DELETE FROM inflight WHERE payment_id = ? AND request_index = ?",
                    (receipt.payment_id, receipt.request_index),
                )
                inserted = db.execute(
                    "INSERT INTO receipts (model_id, payment_id, request_index, receipt, answer, payment_tx) "
                    "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (
                        receipt.model_id,
                        receipt.payment_id,
                        receipt.request_index,
                        canonical_json(receipt.to_dict()).decode(),
                        "" if output is None else canonical_json(output).decode(),
                        payment_tx.lower(),
                    ),
                ).one()
                return int(inserted[0]) if inserted else 0
        except UniqueViolation:
            raise DuplicateReceipt(
                f"request {receipt.request_index} of payment {receipt.payment_id} was already answered"
            ) from None

    def find(self, payment_id: int, request_index: int) -> Receipt | None:
        if not _storable(payment_id, request_index):
            return None
        rows = self._query(
            "SELECT receipt FROM receipts WHERE payment_id = ? AND request_index = ?",
            payment_id,
            request_index,
        )
        return Receipt.from_dict(json.loads(rows[0][0])) if rows else None

    def answer(self, payment_id: int, request_index: int) -> Any:
        """The stored output of an answered unit (None when there is none, or it predates stored answers)."""
        if not _storable(payment_id, request_index):
            return None
        sql = "SELECT answer FROM receipts WHERE payment_id = ? AND request_index = ?"
        rows = self._query(sql, payment_id, request_index)
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    def used_indexes(self, payment_id: int) -> list[int]:
        if not _storable(payment_id):
            return []
        rows = self._query(
            "SELECT request_index FROM receipts WHERE payment_id = ? ORDER BY request_index", payment_id
        )
        return [int(r[0]) for r in rows]

    def pending(self, model_id: int) -> list[Receipt]:
        """Receipts of `model_id` not yet assigned to an epoch, in the order they were issued."""
        rows = self._query(
            "SELECT receipt FROM receipts WHERE model_id = ? AND epoch IS NULL ORDER BY id", model_id
        )
        return [Receipt.from_dict(json.loads(r[0])) for r in rows]

    def payment_txs(self, model_id: int, epoch: int | None = None) -> dict[tuple[int, int], str]:
        """The payment transaction each receipt of `model_id` (pending, or in `epoch`) was answered for
        ('' if unknown: logs written before it was recorded)."""
        where = "epoch IS NULL" if epoch is None else "epoch = ?"
        rows = self._query(
            f"SELECT payment_id, request_index, payment_tx FROM receipts WHERE model_id = ? AND {where}",
            model_id,
            *(() if epoch is None else (epoch,)),
        )
        return {(int(r[0]), int(r[1])): str(r[2]) for r in rows}

    def exclude(self, receipts: list[Receipt], reason: str) -> int:
        """Move pending receipts out of the log into `excluded` (their payment is gone from the chain):
        they are never paid out, and their units are free for whatever payment holds the id now."""
        with self._transaction() as db:
            return sum(self._exclude_unit(db, (r.payment_id, r.request_index), reason) for r in receipts)

    def _exclude_unit(self, db: Transaction, unit: tuple[int, int], reason: str) -> int:
        row = db.execute(
            "DELETE FROM receipts WHERE payment_id = ? AND request_index = ? AND epoch IS NULL "
            "RETURNING model_id, receipt, payment_tx",
            unit,
        ).one()
        if row is None:
            return 0
        db.execute(
            "INSERT INTO excluded (payment_id, request_index, model_id, receipt, payment_tx, reason, "
            "excluded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*unit, row[0], row[1], row[2], reason, self._db.now()),
        )
        return 1

    def excluded(self, model_id: int) -> list[ExcludedReceipt]:
        rows = self._query(
            "SELECT receipt, payment_tx, reason FROM excluded WHERE model_id = ? ORDER BY excluded_at",
            model_id,
        )
        return [ExcludedReceipt(Receipt.from_dict(json.loads(r[0])), str(r[1]), str(r[2])) for r in rows]

    def epoch_receipts(self, model_id: int, epoch: int) -> list[Receipt]:
        rows = self._query(
            "SELECT receipt FROM receipts WHERE model_id = ? AND epoch = ? ORDER BY id", model_id, epoch
        )
        return [Receipt.from_dict(json.loads(r[0])) for r in rows]

    def models(self) -> list[int]:
        """Every model with a receipt or an epoch in this log."""
        rows = self._query("SELECT model_id FROM receipts UNION SELECT model_id FROM epochs ORDER BY 1")
        return [int(r[0]) for r in rows]

    def count(self, model_id: int | None = None) -> int:
        if model_id is None:
            return int(self._query("SELECT COUNT(*) FROM receipts")[0][0])
        return int(self._query("SELECT COUNT(*) FROM receipts WHERE model_id = ?", model_id)[0][0])

    # -- leases --------------------------------------------------------------------------------------

    def hold_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew the lease `name` for `holder` for `seconds` (the database's clock); False while
        another holder's lease runs. A holder that died is taken over once its lease ran out."""
        now = self._db.now()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                "SET holder = excluded.holder, expires_at = excluded.expires_at "
                "WHERE leases.holder = excluded.holder OR leases.expires_at < ?",
                (name, holder, now + seconds, now),
            )
            row = db.execute("SELECT holder FROM leases WHERE name = ?", (name,)).one()
        return row is not None and row[0] == holder

    def lease_holder(self, name: str) -> tuple[str, float] | None:
        """Who holds the lease `name` and until when (database clock), or None."""
        rows = self._query("SELECT holder, expires_at FROM leases WHERE name = ?", name)
        return (str(rows[0][0]), float(rows[0][1])) if rows else None

    def drop_lease(self, name: str, holder: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    # -- epochs --------------------------------------------------------------------------------------

    def close_epoch(
        self,
        model_id: int,
        epoch: int,
        closed_at: int,
        receipts: list[Receipt],
        manifest_block: int = 0,
        deferred: tuple[tuple[int, int], ...] = (),
        lease: Lease | None = None,
    ) -> int:
        """Assign exactly `receipts` (still pending) to `epoch` and record the epoch as closed, atomically,
        with the units it leaves for later (`deferred`, see residue.py). With `lease` (name, holder), only
        while that holder holds it (LeaseLost otherwise), checked in the same transaction."""
        keys = [(r.payment_id, r.request_index) for r in receipts]
        with self._transaction() as db:
            self._check_lease(db, lease)
            taken = db.execute(
                "SELECT 1 FROM epochs WHERE model_id = ? AND epoch = ? AND state != 'struck'",
                (model_id, epoch),
            ).one()
            if taken:
                raise BillingError(f"epoch {epoch} of model {model_id} is already closed in {self.location}")
            db.execute("DELETE FROM epochs WHERE model_id = ? AND epoch = ?", (model_id, epoch))
            for payment_id, index in keys:
                changed = db.execute(
                    "UPDATE receipts SET epoch = ? WHERE payment_id = ? AND request_index = ? "
                    "AND model_id = ? AND epoch IS NULL",
                    (epoch, payment_id, index, model_id),
                ).rowcount
                if changed != 1:
                    raise BillingError(f"receipt {payment_id}/{index} is not pending for model {model_id}")
            db.execute(
                "INSERT INTO epochs (model_id, epoch, state, receipts, closed_at, manifest_block, deferred) "
                "VALUES (?, ?, 'closed', ?, ?, ?, ?)",
                (model_id, epoch, len(keys), closed_at, manifest_block, _keys_json(deferred)),
            )
            db.execute(
                "INSERT INTO windows (model_id, started_at) VALUES (?, ?) "
                "ON CONFLICT (model_id) DO UPDATE SET started_at = excluded.started_at",
                (model_id, closed_at),
            )
        return len(keys)

    def release_epoch(self, model_id: int, epoch: int, struck: bool, lease: Lease | None = None) -> int:
        """Give the epoch's receipts back to the pending pool, atomically: a posted epoch is marked struck
        (its root was voided on-chain) or a closed one, never posted, deleted. Returns the receipt count;
        BillingError if the epoch is not in that state any more (another replica moved it on: reopening
        a posted epoch would pay its receipts twice)."""
        expected = EpochState.POSTED if struck else EpochState.CLOSED
        with self._transaction() as db:
            self._check_lease(db, lease)
            where, key = "WHERE model_id = ? AND epoch = ? AND state = ?", (model_id, epoch, str(expected))
            if struck:
                changed = db.execute(f"UPDATE epochs SET state = 'struck' {where}", key)
            else:
                changed = db.execute(f"DELETE FROM epochs {where}", key)
            if changed.rowcount != 1:
                raise BillingError(
                    f"epoch {epoch} of model {model_id} is not {expected} in {self.location} any more: "
                    "its receipts stay where they are"
                )
            released = db.execute(
                "UPDATE receipts SET epoch = NULL WHERE model_id = ? AND epoch = ?", (model_id, epoch)
            ).rowcount
        return int(released)

    def _check_lease(self, db: Transaction, lease: Lease | None) -> None:
        if lease is None:
            return
        name, holder = lease
        row = db.execute("SELECT holder, expires_at FROM leases WHERE name = ?", (name,)).one()
        if row is None or row[0] != holder or float(row[1]) < self._db.now():
            current = f"{row[0]} holds it" if row is not None else "nobody holds it"
            raise LeaseLost(f"the {name} lease of {holder} ran out ({current}): nothing was written")

    def update_epoch(
        self,
        model_id: int,
        epoch: int,
        state: EpochState | str,
        lease: Lease | None = None,
        **fields: str | int,
    ) -> None:
        state = EpochState(state)  # ValueError for an unknown state
        unknown = set(fields) - EPOCH_FIELDS
        if unknown:
            raise ValueError(f"unknown epoch field(s) {sorted(unknown)}")
        sets = ", ".join(f"{name} = ?" for name in ("state", *fields))
        values = [str(state), *(str(v) if name == "total" else v for name, v in fields.items())]
        with self._transaction() as db:
            self._check_lease(db, lease)
            db.execute(
                f"UPDATE epochs SET {sets} WHERE model_id = ? AND epoch = ?", (*values, model_id, epoch)
            )

    def epochs(self, model_id: int, states: tuple[str, ...] = EPOCH_STATES) -> list[EpochRecord]:
        marks = ",".join("?" * len(states))
        rows = self._query(
            "SELECT model_id, epoch, state, receipts, closed_at, report_cid, root, total, manifest_block, "
            f"deferred FROM epochs WHERE model_id = ? AND state IN ({marks}) ORDER BY epoch",
            model_id,
            *(str(state) for state in states),
        )
        return [_epoch_record(row) for row in rows]

    def window_start(self, model_id: int) -> int | None:
        rows = self._query("SELECT started_at FROM windows WHERE model_id = ?", model_id)
        return int(rows[0][0]) if rows else None

    def start_window(self, model_id: int, started_at: int, restart: bool = False) -> None:
        """Open the first epoch window of a model (later windows start when an epoch closes); `restart`
        starts a new one now (receipts that could not be closed wait a whole window, not one tick)."""
        on_conflict = "DO UPDATE SET started_at = excluded.started_at" if restart else "DO NOTHING"
        with self._transaction() as db:
            db.execute(
                "INSERT INTO windows (model_id, started_at) VALUES (?, ?) "
                f"ON CONFLICT (model_id) {on_conflict}",
                (model_id, started_at),
            )


EPOCH_FIELDS = {"report_cid", "root", "total", "manifest_block"}


def _replaced(answered: Row, payment_tx: str) -> bool:
    """Whether a pending receipt (payment_tx, epoch) answered another transaction than `payment_tx`."""
    stored_tx, epoch = answered
    return bool(payment_tx and stored_tx and epoch is None and stored_tx != payment_tx.lower())


def _storable(*ids: int) -> bool:
    """Database integers are 64-bit: a larger (uint256) id was never stored, so it is simply not found."""
    return all(0 <= i <= SQLITE_MAX_INT for i in ids)


def _keys_json(keys: tuple[tuple[int, int], ...]) -> str:
    return json.dumps([list(k) for k in keys])


def _epoch_record(row: Row) -> EpochRecord:
    values = tuple(row)
    deferred = tuple((int(pid), int(index)) for pid, index in json.loads(values[9]))
    model_id, epoch, state, receipts, closed_at, report_cid, root = values[:7]
    return EpochRecord(
        int(model_id), int(epoch), EpochState(state), int(receipts), int(closed_at), report_cid, root,
        total=int(values[7]), manifest_block=int(values[8]), deferred=deferred,
    )


def _add_missing_columns(db: SqliteStore) -> None:
    """SQLite logs written before the manifest check (0: checked at the post block), the deferred units of
    the residue rule, stored answers or payment transactions were recorded get their columns."""
    added = {
        "receipts": (
            ("answer", "TEXT NOT NULL DEFAULT ''"),
            ("payment_tx", "TEXT NOT NULL DEFAULT ''"),
        ),
        "epochs": (
            ("manifest_block", "INTEGER NOT NULL DEFAULT 0"),
            ("deferred", "TEXT NOT NULL DEFAULT '[]'"),
        ),
    }
    for table, columns in added.items():
        present = db.columns(table)
        missing = [(name, kind) for name, kind in columns if name not in present]
        if missing:
            with db.transaction() as tx:
                for name, kind in missing:
                    tx.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
