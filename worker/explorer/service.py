"""What the explorer app needs at hand: a read-only chain client, the content store, the index and its
indexer, and where paid requests go."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from worker.chain.client import ChainClient
from worker.explorer import queries
from worker.explorer.indexer import Indexer, IndexerSettings
from worker.explorer.schema import ExplorerDatabase
from worker.serve.client import server_url
from worker.storage import ContentStore

ROOT = Path(__file__).resolve().parents[2]
ETHERS = ROOT / "node_modules" / "ethers" / "dist" / "ethers.min.js"


@dataclass
class ExplorerService:
    client: ChainClient  # read-only: the explorer never signs
    store: ContentStore
    db: ExplorerDatabase
    indexer: Indexer
    inference: str | None = None  # the paid API's base URL; default: the model's provider's endpoint
    stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def open(
        cls,
        client: ChainClient,
        store: ContentStore,
        db_path: Path,
        settings: IndexerSettings | None = None,
        inference: str | None = None,
    ) -> ExplorerService:
        db = ExplorerDatabase(db_path)
        return cls(client, store, db, Indexer(client, store, db, settings), inference)

    def start(self) -> ExplorerService:
        """Index in a background thread until `close()`."""
        self.indexer.start(self.stop)
        return self

    def close(self) -> None:
        self.stop.set()

    # -- reads that need the chain as well as the index ------------------------------------------------

    def status(self) -> dict[str, Any]:
        deployment = self.client.deployment
        return {
            **queries.status(self.db),
            "chain_id": deployment.chain_id,
            "addresses": {name: to_checksum_address(a) for name, a in deployment.addresses.items()},
            "indexer_error": self.indexer.last_error,
        }

    def account(self, address: str) -> dict[str, Any]:
        now = self.client.latest_timestamp()
        found = queries.account(self.db, to_checksum_address(address), now)
        found["balance"] = str(self.client.token.balance_of(address))
        return found

    def receipt(self, tx_hash: str) -> dict[str, Any]:
        """A mined transaction's status and decoded protocol events (what the page reports after a send)."""
        receipt = self.client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        events = self.client.decoder.decode_logs(list(receipt["logs"]))
        return {
            "tx_hash": tx_hash,
            "block": int(receipt["blockNumber"]),
            "status": int(receipt["status"]),
            "events": [{"contract": e.contract, "name": e.name, "args": _plain(e.args)} for e in events],
        }

    def inference_url(self, model_id: int) -> str:
        """The configured paid API, else the one the model's compute provider registered."""
        return self.inference or server_url(self.client, model_id)

    def ethers_path(self) -> Path | None:
        return ETHERS if ETHERS.is_file() else None


def _plain(args: dict[str, Any]) -> dict[str, Any]:
    def value(v: Any) -> Any:
        if isinstance(v, bytes | bytearray):
            return "0x" + bytes(v).hex()
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        if isinstance(v, list | tuple):
            return [value(x) for x in v]
        return v

    return {k: value(v) for k, v in args.items()}
