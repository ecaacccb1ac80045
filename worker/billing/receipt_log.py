"""The durable receipt log: every signed receipt, written before its answer leaves the server, and the
epochs that pay them out.

SQLite (WAL, synchronous=FULL): a receipt is committed to disk before `record` returns, and the pair
(payment id, request index) is unique, so a request unit is answered and counted once whatever the
crashes. Closing an epoch assigns the model's pending receipts to it and creates the epoch row in one
transaction: after a kill -9 either both happened or neither did. An epoch struck down on-chain (upheld
or lapsed challenge) gives its receipts back to the pending pool in one transaction too, so the next
epoch posts them again. One file per deployment (chain id, vault, deployment block hash): a fresh local
chain reuses payment ids and must not see old receipts.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from worker.billing.errors import BillingError, DuplicateReceipt, PaymentRequired
from worker.billing.receipts import Receipt
from worker.canonical import canonical_json
from worker.chain.deployment import Deployment
from worker.config import load_settings
from worker.sqlite import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id INTEGER NOT NULL,
    payment_id INTEGER NOT NULL,
    request_index INTEGER NOT NULL,
    receipt TEXT NOT NULL,
    epoch INTEGER,
    answer TEXT NOT NULL DEFAULT '',
    UNIQUE (payment_id, request_index)
);
CREATE INDEX IF NOT EXISTS receipts_by_epoch ON receipts (model_id, epoch);
CREATE TABLE IF NOT EXISTS epochs (
    model_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    state TEXT NOT NULL,
    receipts INTEGER NOT NULL,
    closed_at INTEGER NOT NULL,
    report_cid TEXT NOT NULL DEFAULT '',
    root TEXT NOT NULL DEFAULT '',
    total TEXT NOT NULL DEFAULT '0',
    manifest_block INTEGER NOT NULL DEFAULT 0,
    deferred TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (model_id, epoch)
);
CREATE TABLE IF NOT EXISTS windows (model_id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inflight (
    payment_id INTEGER NOT NULL,
    request_index INTEGER NOT NULL,
    reserved_at REAL NOT NULL,
    PRIMARY KEY (payment_id, request_index)
);
"""
# A reservation older than this was left by a process that died mid-answer: the unit may be tried again.
RESERVATION_TTL_S = 120.0
SQLITE_MAX_INT = 2**63 - 1


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


def default_log_path(deployment: Deployment, home: Path | None = None) -> Path:
    home = home or load_settings().home
    vault = deployment.address("RewardVault")
    return (
        home / "rewards" / f"{deployment.chain_id}-{vault[2:10].lower()}-{deployment.block_hash[2:10]}.sqlite"
    )


class ReceiptLog:
    def __init__(self, path: str | Path):
        self._db = SqliteDatabase(path, SCHEMA)
        self.path = self._db.path
        with self._db.transaction() as db:
            _add_missing_columns(db)

    @classmethod
    def for_deployment(cls, deployment: Deployment, home: Path | None = None) -> ReceiptLog:
        return cls(default_log_path(deployment, home))

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.transaction()

    def _query(self, sql: str, *args: object) -> list[sqlite3.Row]:
        return self._db.query(sql, args)

    # -- receipts ------------------------------------------------------------------------------------

    def reserve(self, payment_id: int, request_index: int, now: float | None = None) -> None:
        """Claim the request unit for one answer in progress (any process on this log), before the model
        runs: a copy of the same signed request gets PaymentRequired `payment_in_flight` instead of a second
        inference, and an answered unit DuplicateReceipt. `release` or `record` ends the reservation."""
        now = time.time() if now is None else now
        unit = (payment_id, request_index)
        with self._transaction() as db:
            answered = "SELECT 1 FROM receipts WHERE payment_id = ? AND request_index = ?"
            if db.execute(answered, unit).fetchone():
                raise DuplicateReceipt(
                    f"request index {request_index} of payment {payment_id} was already answered (its "
                    f"receipt is at /v1/receipts/{payment_id}/{request_index}); use an unused index "
                    f"(GET /v1/payments/{payment_id})"
                )
            db.execute(
                "DELETE FROM inflight WHERE payment_id = ? AND request_index = ? AND reserved_at < ?",
                (payment_id, request_index, now - RESERVATION_TTL_S),
            )
            taken = db.execute(
                "INSERT OR IGNORE INTO inflight (payment_id, request_index, reserved_at) VALUES (?, ?, ?)",
                (payment_id, request_index, now),
            ).rowcount
        if not taken:
            raise PaymentRequired(
                f"request {request_index} of payment {payment_id} is being answered right now (the same "
                "signed request arrived twice): wait for that answer, or use another index",
                code="payment_in_flight",
            )

    def release(self, payment_id: int, request_index: int) -> None:
        """End a reservation without an answer (the request failed): the unit stays unspent."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM inflight WHERE payment_id = ? AND request_index = ?", (payment_id, request_index)
            )

    def record(self, receipt: Receipt, output: Any = None) -> int:
        """Store a receipt and the answer's output durably (ending the unit's reservation in the same
        transaction), so a payer who lost the answer can fetch it again; DuplicateReceipt if its request
        unit already has one."""
        try:
            with self._transaction() as db:
                db.execute(
                    "DELETE FROM inflight WHERE payment_id = ? AND request_index = ?",
                    (receipt.payment_id, receipt.request_index),
                )
                cursor = db.execute(
                    "INSERT INTO receipts (model_id, payment_id, request_index, receipt, answer) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        receipt.model_id,
                        receipt.payment_id,
                        receipt.request_index,
                        canonical_json(receipt.to_dict()).decode(),
                        "" if output is None else canonical_json(output).decode(),
                    ),
                )
                return int(cursor.lastrowid or 0)
        except sqlite3.IntegrityError:
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

    # -- epochs --------------------------------------------------------------------------------------

    def close_epoch(
        self,
        model_id: int,
        epoch: int,
        closed_at: int,
        receipts: list[Receipt],
        manifest_block: int = 0,
        deferred: tuple[tuple[int, int], ...] = (),
    ) -> int:
        """Assign exactly `receipts` (still pending) to `epoch` and record the epoch as closed, atomically,
        with the units it leaves for later (`deferred`, see residue.py)."""
        keys = [(r.payment_id, r.request_index) for r in receipts]
        with self._transaction() as db:
            taken = db.execute(
                "SELECT 1 FROM epochs WHERE model_id = ? AND epoch = ? AND state != 'struck'",
                (model_id, epoch),
            ).fetchone()
            if taken:
                raise BillingError(f"epoch {epoch} of model {model_id} is already closed in {self.path}")
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

    def release_epoch(self, model_id: int, epoch: int, struck: bool) -> int:
        """Give the epoch's receipts back to the pending pool, atomically: the epoch row is marked struck
        (its root was voided on-chain) or, for an epoch never posted, deleted. Returns the receipt count."""
        with self._transaction() as db:
            released = db.execute(
                "UPDATE receipts SET epoch = NULL WHERE model_id = ? AND epoch = ?", (model_id, epoch)
            ).rowcount
            if struck:
                db.execute(
                    "UPDATE epochs SET state = 'struck' WHERE model_id = ? AND epoch = ?", (model_id, epoch)
                )
            else:
                db.execute("DELETE FROM epochs WHERE model_id = ? AND epoch = ?", (model_id, epoch))
        return int(released)

    def update_epoch(self, model_id: int, epoch: int, state: EpochState | str, **fields: str | int) -> None:
        state = EpochState(state)  # ValueError for an unknown state
        sets = ", ".join(f"{name} = ?" for name in ("state", *fields))
        values = [state, *(str(v) if name == "total" else v for name, v in fields.items())]
        with self._transaction() as db:
            db.execute(
                f"UPDATE epochs SET {sets} WHERE model_id = ? AND epoch = ?", (*values, model_id, epoch)
            )

    def epochs(self, model_id: int, states: tuple[str, ...] = EPOCH_STATES) -> list[EpochRecord]:
        marks = ",".join("?" * len(states))
        rows = self._query(
            "SELECT model_id, epoch, state, receipts, closed_at, report_cid, root, total, manifest_block, "
            f"deferred FROM epochs WHERE model_id = ? AND state IN ({marks}) ORDER BY epoch",
            model_id,
            *states,
        )
        return [_epoch_record(row) for row in rows]

    def window_start(self, model_id: int) -> int | None:
        rows = self._query("SELECT started_at FROM windows WHERE model_id = ?", model_id)
        return int(rows[0][0]) if rows else None

    def start_window(self, model_id: int, started_at: int, restart: bool = False) -> None:
        """Open the first epoch window of a model (later windows start when an epoch closes); `restart`
        starts a new one now (receipts that could not be closed wait a whole window, not one tick)."""
        verb = "INSERT OR REPLACE" if restart else "INSERT OR IGNORE"
        with self._transaction() as db:
            db.execute(f"{verb} INTO windows (model_id, started_at) VALUES (?, ?)", (model_id, started_at))


def _storable(*ids: int) -> bool:
    """SQLite integers are 64-bit: a larger (uint256) id was never stored, so it is simply not found."""
    return all(0 <= i <= SQLITE_MAX_INT for i in ids)


def _keys_json(keys: tuple[tuple[int, int], ...]) -> str:
    return json.dumps([list(k) for k in keys])


def _epoch_record(row: sqlite3.Row) -> EpochRecord:
    values = tuple(row)
    deferred = tuple((int(pid), int(index)) for pid, index in json.loads(values[9]))
    model_id, epoch, state, receipts, closed_at, report_cid, root = values[:7]
    return EpochRecord(
        model_id, epoch, EpochState(state), receipts, closed_at, report_cid, root,
        total=int(values[7]), manifest_block=int(values[8]), deferred=deferred,
    )


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Logs written before the manifest check (0: checked at the post block), the deferred units of the
    residue rule or stored answers were recorded get their columns."""
    if "answer" not in {row[1] for row in db.execute("PRAGMA table_info(receipts)")}:
        db.execute("ALTER TABLE receipts ADD COLUMN answer TEXT NOT NULL DEFAULT ''")
    columns = {row[1] for row in db.execute("PRAGMA table_info(epochs)")}
    if "manifest_block" not in columns:
        db.execute("ALTER TABLE epochs ADD COLUMN manifest_block INTEGER NOT NULL DEFAULT 0")
    if "deferred" not in columns:
        db.execute("ALTER TABLE epochs ADD COLUMN deferred TEXT NOT NULL DEFAULT '[]'")
