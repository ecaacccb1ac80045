"""The outbox: every transaction the worker signs is written to SQLite before it is broadcast.

After `kill -9` between broadcast and receipt, the restarted worker finds the signed bytes, asks the node
what became of them, and rebroadcasts the very same transaction (same nonce, same hash) if the node lost
it, instead of signing a second one. A transaction can therefore land at most once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from web3.exceptions import TransactionNotFound

from worker.chain.client import ChainClient
from worker.daemon.db import Database
from worker.errors import ChainError

T = TypeVar("T")


class OutboxState(StrEnum):
    SIGNED = "signed"  # written before broadcast; its fate is settled on restart
    MINED = "mined"
    REVERTED = "reverted"
    REORGED = "reorged"  # mined in a block a reorg removed
    DROPPED = "dropped"  # its nonce was used by another transaction


@dataclass(frozen=True)
class OutboxEntry:
    tx_hash: str
    task_id: str
    action: str
    nonce: int
    state: OutboxState
    block: int | None
    error: str


class Outbox:
    def __init__(self, db: Database, client: ChainClient):
        self.db, self.client = db, client

    def _record(self, task_id: str, action: str, signed: list[str]) -> Callable[[str, bytes, int], None]:
        def hook(tx_hash: str, raw: bytes, nonce: int) -> None:
            with self.db.transaction() as db:
                db.execute(
                    "INSERT OR REPLACE INTO outbox (tx_hash, task_id, action, nonce, raw, state, created_at) "
                    "VALUES (?, ?, ?, ?, ?, 'signed', ?)",
                    (tx_hash, task_id, action, nonce, raw.hex(), time.time()),
                )
            signed.append(tx_hash)

        return hook

    def send(self, task_id: str, action: str, send: Callable[[], T]) -> T:
        """Run `send` (a wrapper call such as `client.models.claim_job(7)`, or a journey that sends an
        approval first) with every transaction it signs recorded; settle them once it returns."""
        signed: list[str] = []
        with self.client.sender.recording(self._record(task_id, action, signed)):
            try:
                result = send()
            except ChainError as exc:
                self.mark_failed(task_id, action, str(exc))
                raise
        for tx_hash in signed:
            receipt = self.client.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            state = OutboxState.MINED if int(receipt["status"]) == 1 else OutboxState.REVERTED
            self._mark(tx_hash, state, int(receipt["blockNumber"]))
        return result

    def mark_failed(self, task_id: str, action: str, error: str) -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE outbox SET state = 'reverted', error = ? "
                "WHERE task_id = ? AND action = ? AND state = 'signed'",
                (error[:2000], task_id, action),
            )

    def _mark(self, tx_hash: str, state: OutboxState, block: int | None = None, error: str = "") -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE outbox SET state = ?, block = ?, error = ? WHERE tx_hash = ?",
                (state, block, error, tx_hash),
            )

    def pending(self) -> list[OutboxEntry]:
        rows = self.db.query("SELECT * FROM outbox WHERE state = 'signed' ORDER BY nonce")
        return [self._entry(r) for r in rows]

    def entries(self, task_id: str | None = None) -> list[OutboxEntry]:
        rows = self.db.query(
            "SELECT * FROM outbox" + (" WHERE task_id = ?" if task_id else "") + " ORDER BY created_at",
            (task_id,) if task_id else (),
        )
        return [self._entry(r) for r in rows]

    @staticmethod
    def _entry(row: sqlite3.Row) -> OutboxEntry:
        return OutboxEntry(
            row["tx_hash"],
            row["task_id"],
            row["action"],
            row["nonce"],
            OutboxState(row["state"]),
            row["block"],
            row["error"],
        )

    def reorged_above(self, db: sqlite3.Connection, block: int) -> None:
        """Transactions mined in blocks a reorg removed are not facts any more."""
        db.execute("UPDATE outbox SET state = 'reorged' WHERE state = 'mined' AND block > ?", (block,))

    def reconcile(self, wait_seconds: float = 30.0) -> list[str]:
        """Settle every transaction signed before a crash: mined (record it), lost (rebroadcast the same
        bytes), or replaced (nonce used by another transaction: drop it). Returns what was done."""
        done = []
        w3 = self.client.w3
        for entry in self.pending():
            raw = bytes.fromhex(self._raw(entry.tx_hash))
            try:
                receipt = w3.eth.get_transaction_receipt(entry.tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                receipt = None
            if receipt is None:
                if w3.eth.get_transaction_count(self.client.address, "latest") > entry.nonce:
                    self._mark(entry.tx_hash, OutboxState.DROPPED, error="nonce used by another transaction")
                    done.append(
                        f"{entry.action} {entry.tx_hash}: dropped (nonce {entry.nonce} used elsewhere)"
                    )
                    continue
                self.client.sender.rebroadcast(raw)
                receipt = w3.eth.wait_for_transaction_receipt(entry.tx_hash, timeout=wait_seconds)  # type: ignore[arg-type]
                done.append(f"{entry.action} {entry.tx_hash}: rebroadcast")
            state = OutboxState.MINED if int(receipt["status"]) == 1 else OutboxState.REVERTED
            self._mark(entry.tx_hash, state, int(receipt["blockNumber"]))
            done.append(f"{entry.action} {entry.tx_hash}: {state} in block {receipt['blockNumber']}")
        self.client.sender.nonces.reset()
        return done

    def _raw(self, tx_hash: str) -> str:
        raw: str = self.db.query("SELECT raw FROM outbox WHERE tx_hash = ?", (tx_hash,))[0]["raw"]
        return raw
