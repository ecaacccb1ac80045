"""The vault's payments (`InferencePaid` events), indexed in the database the receipt log lives in, so a
payment is one indexed read instead of an eth_getLogs from the deployment block.

Only final blocks are indexed (worker.chain.finality): an indexed payment is final. `sync()` extends the
index from its cursor (the last indexed block and its hash) to the newest final block, in pieces of
`client.max_log_range` blocks, one transaction each. Each piece moves the cursor by compare-and-set on
its version, so N replicas syncing one database at once never interleave two views of the chain: a
replica that lost the race re-reads the cursor and goes on from there. Before each sync the cursor's
hash is compared with the chain; a mismatch (a reorg deeper than what we called final) rewinds to the
newest indexed payment whose block is still on the chain (block hashes chain, so everything below it
is too) and indexes again from there.

Lookups sync the index at most every `sync_interval_s` (0.5 s): whatever the traffic, about two syncs
a second, and a reorg of indexed blocks is noticed within that time. A payment not indexed yet is
looked for in the blocks above the cursor with one eth_getLogs on its id, so a fresh payment answers
with its depth (unconfirmed) rather than as unknown. Payment ids count up in chain order
(`paymentCount`), so an id at or below the highest indexed one that is not in the index does not exist:
made-up old ids cost no RPC beyond those syncs.
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from hexbytes import HexBytes
from web3.exceptions import BlockNotFound

from worker.billing.errors import BillingError
from worker.chain.client import ChainClient
from worker.chain.events import DecodedEvent
from worker.chain.finality import Finality
from worker.chain.reward_vault import payment_of
from worker.chain.types import Payment
from worker.database import Database, Row, Transaction, open_database
from worker.errors import ChainError

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    payment_id BIGINT PRIMARY KEY,
    model_id BIGINT NOT NULL,
    payer TEXT NOT NULL,
    request_count TEXT NOT NULL,
    amount TEXT NOT NULL,
    request_ref TEXT NOT NULL,
    treasury_share TEXT NOT NULL,
    owner_share TEXT NOT NULL,
    provider_share TEXT NOT NULL,
    contributors_share TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    log_index BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_block ON payments (block_number);
CREATE TABLE IF NOT EXISTS payment_cursor (
    id BIGINT PRIMARY KEY,
    deployment TEXT NOT NULL,
    finality TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    version BIGINT NOT NULL
)
"""
MIN_SYNC_INTERVAL_S = 0.5  # however many lookups, at most ~2 syncs a second
MAX_ID = 2**63 - 1  # database integers are 64-bit; ids count up from 1, so a larger one does not exist
_COLUMNS = (
    "payment_id, model_id, payer, request_count, amount, request_ref, treasury_share, owner_share, "
    "provider_share, contributors_share, block_number, tx_hash, block_hash"
)


@dataclass(frozen=True)
class PaymentStatus:
    payment: Payment | None
    confirmations: int  # 0 when not found; 1 when in the head block (at least the depth required, if final)
    final: bool = False  # final by the server's Finality: it will not change any more


@dataclass(frozen=True)
class IndexCursor:
    block: int  # every final block up to this one is indexed
    hash: str  # its hash when indexed ('' before the deployment block)
    version: int  # bumped by every move: the compare-and-set that orders replicas


@dataclass(frozen=True)
class IndexedPayment:
    payment: Payment
    block_hash: str


class PaymentIndex:
    def __init__(
        self,
        client: ChainClient,
        finality: Finality | None = None,
        database: Database | str | Path | None = None,
        sync_interval_s: float = MIN_SYNC_INTERVAL_S,
    ):
        """Payments of `client`'s vault, final by `finality` (default: the chain's), kept in `database`: the
        receipt log's Database (shared by replicas), a path or URL, or by default in-memory SQLite.
        Lookups sync the index at most every `sync_interval_s` seconds."""
        self.client = client
        self.finality = finality or Finality.for_chain(client.sender.chain_id)
        self.sync_interval_s = sync_interval_s
        self._owned = not isinstance(database, Database)
        if isinstance(database, Database):
            self._db = database
            database.apply_schema(SCHEMA)
        else:
            self._db = open_database(database or ":memory:", SCHEMA)
        self._lock = threading.RLock()  # one sync or rewind at a time in this process
        self._synced_at = -math.inf
        self._head = 0  # head and final block as the last sync saw them
        self._final = -1
        self._count = 0  # the vault's paymentCount at the last sync
        self._start(client.deployment.block_number, _deployment_key(client))

    @property
    def database(self) -> Database:
        return self._db

    def close(self) -> None:
        if self._owned:
            self._db.close()

    def _tx(self) -> AbstractContextManager[Transaction]:
        return self._db.transaction()  # type: ignore[no-any-return]

    def _start(self, deployment_block: int, key: str) -> None:
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO payment_cursor (id, deployment, finality, block_number, block_hash, version) "
                "VALUES (1, ?, ?, ?, '', 0) ON CONFLICT DO NOTHING",
                (key, self.finality.rule, deployment_block - 1),
            )
            stored = tx.execute("SELECT deployment, finality FROM payment_cursor WHERE id = 1").one()
        if stored is not None and stored[0] != key:
            raise BillingError(
                f"the payment index in {self._db.location} belongs to deployment {stored[0]}, not {key}: "
                "give this deployment its own database"
            )
        if stored is not None and stored[1] != self.finality.rule:
            # What one replica indexes as final every replica honours: they must share one rule.
            raise BillingError(
                f"the payment index in {self._db.location} holds payments final by '{stored[1]}', not by "
                f"this server's '{self.finality.rule}': start every replica on this database with the "
                "same --confirmations (or none)"
            )

    # -- reading -------------------------------------------------------------------------------------

    def lookup(self, payment_id: int) -> PaymentStatus:
        """The payment with its depth: final once indexed; one not indexed yet is looked for with one
        eth_getLogs on its id over the blocks above the index. Lookups also sync the index (at most every
        `sync_interval_s`), which checks the cursor's block hash: a reorg of indexed blocks is noticed
        within that interval, not only by `recheck`."""
        if not 0 < payment_id <= MAX_ID:
            return PaymentStatus(None, 0)
        known = self._from_index(payment_id)
        if known is None or self._sync_due():
            self.sync()
            known = self._from_index(payment_id)
        if known is None and payment_id > self._count:
            self._count = self.client.vault.payment_count()  # one eth_call, not an eth_getLogs
            if payment_id > self._count:
                return PaymentStatus(None, 0)  # a made-up id beyond every payment made so far
        return known if known is not None else self._recent(payment_id)

    def indexed(self, payment_id: int) -> IndexedPayment | None:
        if not 0 < payment_id <= MAX_ID:
            return None
        rows = self._db.query(f"SELECT {_COLUMNS} FROM payments WHERE payment_id = ?", (payment_id,))
        return _indexed(rows[0]) if rows else None

    def cursor(self) -> IndexCursor:
        row = self._db.query("SELECT block_number, block_hash, version FROM payment_cursor WHERE id = 1")[0]
        return IndexCursor(int(row[0]), str(row[1]), int(row[2]))

    def count(self) -> int:
        return int(self._db.query("SELECT COUNT(*) FROM payments")[0][0])

    def final_block(self) -> int:
        """The newest final block now (asks the chain)."""
        head = self.client.block_number_of("latest")
        final = self.finality.final_block(self.client.w3, head)
        self._head, self._final = head, final
        return final

    def final_depth(self) -> int:
        """How many confirmations a block has when it becomes final: the depth, or for the finalized tag
        the head's distance to the finalized block as last measured."""
        if self.finality.depth is not None:
            return self.finality.depth
        if self._final < 0:
            self.final_block()
        return max(1, self._head - self._final + 1)

    def _from_index(self, payment_id: int) -> PaymentStatus | None:
        """Final when indexed; not found (None payment) when ids above it are; None when undecided."""
        # The highest id before the row: a sync committing between the two reads then makes the row
        # appear (ids are indexed in chain order, a piece at a time), whereas read the other way round
        # it would look missing below an indexed id and be called unknown.
        highest = self._db.query("SELECT MAX(payment_id) FROM payments")[0][0]
        found = self.indexed(payment_id)
        if found is not None:
            depth = max(self._head - found.payment.block_number + 1, self.finality.depth or 1)
            return PaymentStatus(found.payment, depth, final=True)
        return PaymentStatus(None, 0) if highest is not None and payment_id <= int(highest) else None

    def _recent(self, payment_id: int) -> PaymentStatus:
        """The payment in the blocks above the index (not final yet, or final and not indexed yet)."""
        above = self.cursor().block + 1  # before the head: the cursor never passes it
        head = self.client.block_number_of("latest")
        events = self.client.vault.get_events("InferencePaid", above, head, payment_id)
        if not events:
            # A sync (here or on another replica) may have moved the cursor past the payment since the
            # index was read; whatever the cursor passed is indexed, so the index has the last word.
            indexed = self._from_index(payment_id)
            return indexed if indexed is not None else PaymentStatus(None, 0)
        payment = payment_of(events[0])
        if self.finality.depth is not None:
            final = self.finality.final_block(self.client.w3, head)
        else:  # the last sync's finalized block, asked again (one RPC) only for a payment it may miss
            final = self._final if payment.block_number <= self._final else self.final_block()
        return PaymentStatus(payment, head - payment.block_number + 1, payment.block_number <= final)

    # -- syncing -------------------------------------------------------------------------------------

    def _sync_due(self) -> bool:
        return time.monotonic() - self._synced_at >= self.sync_interval_s

    def sync(self, force: bool = False) -> int:
        """Index every final block not indexed yet; returns the newest final block. Skipped (returning the
        last one seen) if a sync ran less than `sync_interval_s` ago, unless `force`."""
        with self._lock:
            if not force and not self._sync_due():
                return self._final
            self._synced_at = time.monotonic()  # before the RPCs: an outage is not retried in a loop
            final = self.final_block()
            self._count = self.client.vault.payment_count()  # ids above it do not exist (yet)
            cursor = self.cursor()
            if cursor.hash and self._hash_at(cursor.block) != cursor.hash:
                self._rewind(cursor.block)
                cursor = self.cursor()
            while cursor.block < final:
                cursor = self._index_piece(cursor, min(final, cursor.block + self.client.max_log_range))
            return final

    def _index_piece(self, cursor: IndexCursor, end: int) -> IndexCursor:
        """Index blocks cursor+1..end and move the cursor there, unless another replica moved it first
        (then its cursor is where we go on from)."""
        end_hash = self._hash_at(end)
        if end_hash is None:
            raise ChainError(f"block {end} disappeared while the payment index read it: try again")
        events = self.client.vault.get_events("InferencePaid", cursor.block + 1, end)
        if self._hash_at(end) != end_hash:  # a load-balanced RPC answered from two views of the chain
            raise ChainError(f"block {end} changed while the payment index read it: try again")
        with self._tx() as tx:
            moved = tx.execute(
                "UPDATE payment_cursor SET block_number = ?, block_hash = ?, version = version + 1 "
                "WHERE id = 1 AND version = ?",
                (end, end_hash, cursor.version),
            ).rowcount
            if moved == 1:
                for event in events:
                    _upsert(tx, event)
        return IndexCursor(end, end_hash, cursor.version + 1) if moved == 1 else self.cursor()

    def _hash_at(self, block: int) -> str | None:
        """The hash of block `block` on the chain now (None if the chain is shorter)."""
        try:
            return "0x" + bytes(HexBytes(self.client.w3.eth.get_block(block)["hash"])).hex()
        except BlockNotFound:
            return None

    def _rewind(self, bad_block: int) -> None:
        """Forget every payment at or above `bad_block` (no longer on the chain as indexed) and below it
        down to the newest payment whose block is still the one indexed; the cursor goes there."""
        with self._lock:
            safe = IndexCursor(self.client.deployment.block_number - 1, "", 0)
            while True:
                rows = self._db.query(
                    "SELECT block_number, block_hash FROM payments WHERE block_number < ? "
                    "ORDER BY block_number DESC LIMIT 1",
                    (bad_block,),
                )
                if not rows:
                    break
                block, block_hash = int(rows[0][0]), str(rows[0][1])
                if self._hash_at(block) == block_hash:
                    safe = IndexCursor(block, block_hash, 0)
                    break
                bad_block = block
            with self._tx() as tx:
                tx.execute("DELETE FROM payments WHERE block_number > ?", (safe.block,))
                tx.execute(
                    "UPDATE payment_cursor SET block_number = ?, block_hash = ?, version = version + 1 "
                    "WHERE id = 1",
                    (safe.block, safe.hash),
                )
            self._synced_at = -math.inf  # the next lookup syncs at once

    # -- before paying out ---------------------------------------------------------------------------

    def recheck(self, payment_id: int, tx_hash: str) -> Payment | None:
        """Is payment `payment_id` still the one transaction `tx_hash` made, on the chain now? The payment
        as it stands if so; None if it vanished or the id now belongs to another transaction (a reorg).
        An indexed payment is checked by its block's hash; a changed block is rewound out of the index
        first, so the index no longer serves it. A payment found above the index is returned too: compare
        its block with `final_block()` to know whether it is final. `tx_hash` '' accepts whichever
        payment holds the id."""
        found = self.indexed(payment_id)
        if found is not None and self._hash_at(found.payment.block_number) != found.block_hash:
            self._rewind(found.payment.block_number)
            found = None
        if found is not None:
            payment: Payment | None = found.payment
        else:
            self.sync(force=True)
            payment = self.lookup(payment_id).payment
        if payment is None or (tx_hash and payment.tx_hash.lower() != tx_hash.lower()):
            return None
        return payment


def _deployment_key(client: ChainClient) -> str:
    deployment = client.deployment
    return f"{deployment.chain_id}:{client.vault.address.lower()}:{deployment.block_hash.lower()}"


def _upsert(tx: Transaction, event: DecodedEvent) -> None:
    p = payment_of(event)
    tx.execute(
        f"INSERT INTO payments ({_COLUMNS}, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (payment_id) DO UPDATE SET model_id = excluded.model_id, payer = excluded.payer, "
        "request_count = excluded.request_count, amount = excluded.amount, "
        "request_ref = excluded.request_ref, treasury_share = excluded.treasury_share, "
        "owner_share = excluded.owner_share, provider_share = excluded.provider_share, "
        "contributors_share = excluded.contributors_share, block_number = excluded.block_number, "
        "tx_hash = excluded.tx_hash, block_hash = excluded.block_hash, log_index = excluded.log_index",
        (
            p.payment_id,
            p.model_id,
            p.payer,
            str(p.request_count),
            str(p.amount),
            "0x" + p.request_ref.hex(),
            str(p.treasury_share),
            str(p.owner_share),
            str(p.provider_share),
            str(p.contributors_share),
            p.block_number,
            p.tx_hash.lower(),
            event.block_hash.lower(),
            event.log_index,
        ),
    )


def _indexed(row: Row) -> IndexedPayment:
    values = tuple(row)
    payment = Payment(
        payment_id=int(values[0]),
        model_id=int(values[1]),
        payer=str(values[2]),
        request_count=int(values[3]),
        amount=int(values[4]),
        request_ref=bytes.fromhex(str(values[5])[2:]),
        treasury_share=int(values[6]),
        owner_share=int(values[7]),
        provider_share=int(values[8]),
        contributors_share=int(values[9]),
        block_number=int(values[10]),
        tx_hash=str(values[11]),
    )
    return IndexedPayment(payment, str(values[12]))
