"""What the explorer app needs at hand: a read-only chain client, the content store, the index and its
indexer, and where paid requests go."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from worker.chain.client import ChainClient
from worker.chain.events import json_value
from worker.explorer import queries
from worker.explorer.actions import DuplicateCache, request_store
from worker.explorer.forwarding import Destination, configured, public_destination
from worker.explorer.guard import ExplorerLimits
from worker.explorer.indexer import Indexer, IndexerSettings
from worker.explorer.schema import ExplorerDatabase
from worker.serve.client import server_url
from worker.serve.errors import ServeError
from worker.storage import ContentStore


class NotMined(ServeError):
    """The transaction is not in a block yet (pending, dropped, or never sent): ask again shortly."""

    status = 404
    code = "not_mined"


ROOT = Path(__file__).resolve().parents[2]
ETHERS = ROOT / "node_modules" / "ethers" / "dist" / "ethers.min.js"


@dataclass
class ExplorerService:
    client: ChainClient  # read-only: the explorer never signs
    store: ContentStore
    db: ExplorerDatabase
    indexer: Indexer
    inference: str | None = None  # the paid API's base URL; default: the model's provider's endpoint
    limits: ExplorerLimits = field(default_factory=ExplorerLimits)
    stop: threading.Event = field(default_factory=threading.Event)
    dedup: DuplicateCache = field(default_factory=DuplicateCache)
    request_store: ContentStore | None = None  # the store with a short timeout, for CIDs requests name

    def __post_init__(self) -> None:
        if self.request_store is None:
            self.request_store = request_store(self.store)

    @classmethod
    def open(
        cls,
        client: ChainClient,
        store: ContentStore,
        db_target: str | Path,
        settings: IndexerSettings | None = None,
        inference: str | None = None,
        limits: ExplorerLimits | None = None,
    ) -> ExplorerService:
        db = ExplorerDatabase(db_target)  # a SQLite file, or a PostgreSQL URL
        indexer = Indexer(client, store, db, settings)
        return cls(client, store, db, indexer, inference, limits or ExplorerLimits())

    def start(self) -> ExplorerService:
        """Index in a background thread until `close()`."""
        self.indexer.start(self.stop)
        return self

    def close(self) -> None:
        """Stop indexing and close the index (a statement in progress finishes first)."""
        self.stop.set()
        self.indexer.content.close()
        self.db.close()

    # -- reads that need the chain as well as the index ------------------------------------------------

    def status(self) -> dict[str, Any]:
        deployment = self.client.deployment
        found = queries.status(self.db)
        documents, cursor = self.indexer.documents_block, found["indexed_block"]
        if documents is not None and cursor is not None:
            documents = min(documents, cursor)  # a reorg rewinds the cursor at once, this after its pass
        return {
            **found,
            "chain_id": deployment.chain_id,
            "addresses": {name: to_checksum_address(a) for name, a in deployment.addresses.items()},
            "indexer_error": self.indexer.last_error,
            "documents_block": documents,
        }

    def account(self, address: str) -> dict[str, Any]:
        now = self.client.latest_timestamp()
        found = queries.account(self.db, to_checksum_address(address), now)
        found["balance"] = str(self.client.token.balance_of(address))
        return found

    def receipt(self, tx_hash: str) -> dict[str, Any]:
        """A mined transaction's status and decoded protocol events (what the page reports after a send)."""
        try:
            receipt = self.client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            raise NotMined(
                f"transaction {tx_hash} is not mined yet (or unknown to the node): retry shortly"
            ) from None
        events = self.client.decoder.decode_logs(list(receipt["logs"]))
        return {
            "tx_hash": tx_hash,
            "block": int(receipt["blockNumber"]),
            "status": int(receipt["status"]),
            "events": [
                {
                    "contract": e.contract,
                    "name": e.name,
                    "args": {k: json_value(v) for k, v in e.args.items()},
                }
                for e in events
            ],
        }

    def inference_destination(self, model_id: int) -> Destination:
        """The configured paid API (trusted), else the endpoint the model's compute provider registered,
        only if it is a public server (worker/explorer/forwarding.py)."""
        if self.inference:
            return configured(self.inference)
        return public_destination(server_url(self.client, model_id))

    def ethers_path(self) -> Path | None:
        return ETHERS if ETHERS.is_file() else None
