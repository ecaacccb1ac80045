"""Following the chain: `eth_getLogs` over `[cursor + 1, head - confirmations]` in bounded ranges.

The cursor and a window of recent block hashes live in the database of the derived state and are written
in the same transaction as the effects of the logs they cover, so a crash anywhere replays a whole batch
or none of it. Before each batch the block under the cursor is compared with the chain: if its hash
changed, the follower walks its window back to the last block both agree on and rewinds the derived state
to it.

The database is any `FollowerStore`: the worker's own SQLite file (worker/daemon/db.py, whose sinks take
the sqlite3 connection) or the dialect-neutral layer of worker/database.py, SQLite or PostgreSQL (the
explorer's index). The follower's own statements are written once in SQL both dialects accept
(`FOLLOWER_SCHEMA`, `?` placeholders, `ON CONFLICT` upserts) and run through `statements(tx)`; the sink
gets the store's transaction as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import BlockNotFound

from worker.chain.events import DecodedEvent, EventDecoder, json_value
from worker.database import Transaction
from worker.errors import ChainError

Tx = TypeVar("Tx")
Tx_contra = TypeVar("Tx_contra", contravariant=True)

# The follower's tables, in SQL both SQLite and PostgreSQL accept (worker/daemon/db.py declares the same
# tables for the worker's SQLite file).
FOLLOWER_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1), block BIGINT NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (number BIGINT PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    block BIGINT NOT NULL, log_index BIGINT NOT NULL, block_hash TEXT NOT NULL, tx_hash TEXT NOT NULL,
    contract TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL, PRIMARY KEY (block, log_index)
);
CREATE INDEX IF NOT EXISTS events_by_name ON events (name);
"""


class ReorgTooDeep(ChainError):
    """No block in the follower's window is still on the chain: the state cannot be rewound safely."""


class EventSink(Protocol[Tx_contra]):
    """Derived state: applies events (in chain order) and undoes everything above a fork block, inside the
    store's transaction `db` that also moves the cursor."""

    def apply(self, db: Tx_contra, event: DecodedEvent) -> None: ...

    def rewind(self, db: Tx_contra, fork_block: int) -> None: ...


class FollowerStore(Protocol[Tx]):
    """Where the cursor, the block window and the event log live, with the derived state: one atomic
    `transaction()`, the dialect-neutral statements over it, and reads (rows indexable by position)."""

    def transaction(self) -> AbstractContextManager[Tx]: ...

    def statements(self, tx: Tx) -> Transaction: ...

    def read(self, sql: str, params: tuple[Any, ...] = ...) -> Sequence[Any]: ...


@dataclass(frozen=True)
class FollowerSettings:
    confirmations: int = 0
    max_range: int = 2_000  # blocks per eth_getLogs (providers cap ranges and result sizes)
    window: int = 256  # recent block hashes kept for reorg detection
    start_block: int = 0


@dataclass(frozen=True)
class Cursor:
    block: int
    hash: str


@dataclass
class PollResult:
    head: int = 0
    target: int = 0
    cursor: int = -1
    events: int = 0
    reorg_depth: int = 0  # blocks rewound this poll


def _hex(value: Any) -> str:
    return "0x" + bytes(HexBytes(value)).hex()


class ChainFollower(Generic[Tx]):
    def __init__(
        self,
        w3: Web3,
        decoder: EventDecoder,
        addresses: Sequence[str],
        db: FollowerStore[Tx],
        sink: EventSink[Tx],
        settings: FollowerSettings | None = None,
    ):
        self.w3, self.decoder, self.db, self.sink = w3, decoder, db, sink
        self.addresses = [Web3.to_checksum_address(a) for a in addresses]
        self.settings = settings or FollowerSettings()

    # -- state ---------------------------------------------------------------------------------------

    def cursor(self) -> Cursor | None:
        rows = self.db.read("SELECT block, hash FROM cursor WHERE id = 1")
        return Cursor(int(rows[0][0]), str(rows[0][1])) if rows else None

    def _chain_hash(self, number: int) -> str | None:
        try:
            block = self.w3.eth.get_block(number)
        except BlockNotFound:  # the chain is now shorter than `number`
            return None
        return _hex(block["hash"])

    # -- reorgs --------------------------------------------------------------------------------------

    def _fork_point(self, cursor: Cursor) -> Cursor:
        """The highest remembered block whose hash the chain still has."""
        rows = self.db.read(
            "SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC", (cursor.block,)
        )
        for row in rows:
            if self._chain_hash(int(row[0])) == row[1]:
                return Cursor(int(row[0]), str(row[1]))
        if not self.db.read("SELECT value FROM meta WHERE key = 'pruned_through'"):
            # Nothing was ever forgotten, so nothing we saw survives: start over from the beginning.
            return Cursor(self.settings.start_block - 1, "")
        raise ReorgTooDeep(
            f"the chain no longer has any of the last {len(rows)} blocks the worker processed: a reorg "
            "deeper than the follower window; resync with a fresh worker database (or a larger --window)"
        )

    def _check_reorg(self, cursor: Cursor | None) -> tuple[Cursor | None, int]:
        if cursor is None or not cursor.hash or self._chain_hash(cursor.block) == cursor.hash:
            return cursor, 0
        fork = self._fork_point(cursor)
        with self.db.transaction() as tx:
            sql = self.db.statements(tx)
            sql.execute("DELETE FROM events WHERE block > ?", (fork.block,))
            sql.execute("DELETE FROM blocks WHERE number > ?", (fork.block,))
            self.sink.rewind(tx, fork.block)
            self._set_cursor(sql, fork)
        return fork, cursor.block - fork.block

    # -- batches -------------------------------------------------------------------------------------

    def poll(self) -> PollResult:
        """Process every confirmed block not yet processed; returns what was done."""
        cursor, depth = self._check_reorg(self.cursor())
        head = int(self.w3.eth.block_number)
        result = PollResult(head=head, target=head - self.settings.confirmations, reorg_depth=depth)
        position = cursor.block if cursor else self.settings.start_block - 1
        while position < result.target:
            end = min(position + self.settings.max_range, result.target)
            applied = self._batch(position, cursor.hash if cursor and cursor.block == position else "", end)
            if applied is None:  # the chain moved under us: the next poll re-checks from the cursor
                break
            result.events += applied[1]
            cursor, position = applied[0], end
        result.cursor = position
        return result

    def _batch(self, position: int, parent_hash: str, end: int) -> tuple[Cursor, int] | None:
        start = position + 1
        end_hash = self._chain_hash(end)
        if parent_hash and _hex(self.w3.eth.get_block(start)["parentHash"]) != parent_hash:
            return None
        logs = self.w3.eth.get_logs({"address": self.addresses, "fromBlock": start, "toBlock": end})
        if end_hash is None or self._chain_hash(end) != end_hash:
            return None
        ordered = sorted(logs, key=lambda log: (int(log["blockNumber"]), int(log["logIndex"])))
        decoded = [(event, log) for log in ordered if (event := self.decoder.decode_log(log)) is not None]
        hashes = {int(log["blockNumber"]): _hex(log["blockHash"]) for log in ordered}
        hashes[end] = end_hash
        cursor = Cursor(end, end_hash)
        with self.db.transaction() as tx:
            sql = self.db.statements(tx)
            for event, log in decoded:
                self._record(sql, event, _hex(log["blockHash"]))
                self.sink.apply(tx, event)
            for number, block_hash in sorted(hashes.items()):
                sql.execute(
                    "INSERT INTO blocks (number, hash) VALUES (?, ?) "
                    "ON CONFLICT (number) DO UPDATE SET hash = excluded.hash",
                    (number, block_hash),
                )
            floor = end - self.settings.window
            if sql.execute("DELETE FROM blocks WHERE number <= ?", (floor,)).rowcount:
                sql.execute(
                    "INSERT INTO meta (key, value) VALUES ('pruned_through', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(floor),),
                )
            self._set_cursor(sql, cursor)
        return cursor, len(decoded)

    @staticmethod
    def _record(sql: Transaction, event: DecodedEvent, block_hash: str) -> None:
        sql.execute(
            "INSERT INTO events (block, log_index, block_hash, tx_hash, contract, name, args) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (block, log_index) DO UPDATE SET "
            "block_hash = excluded.block_hash, tx_hash = excluded.tx_hash, contract = excluded.contract, "
            "name = excluded.name, args = excluded.args",
            (
                event.block_number,
                event.log_index,
                block_hash,
                event.tx_hash,
                event.contract,
                event.name,
                json.dumps({k: json_value(v) for k, v in event.args.items()}, sort_keys=True),
            ),
        )

    @staticmethod
    def _set_cursor(sql: Transaction, cursor: Cursor) -> None:
        sql.execute(
            "INSERT INTO cursor (id, block, hash) VALUES (1, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET block = excluded.block, hash = excluded.hash",
            (cursor.block, cursor.hash),
        )
