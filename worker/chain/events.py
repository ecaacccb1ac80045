"""Logs decoded through the ABIs of known contracts into plain `DecodedEvent`s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from worker.chain.artifacts import abi_type, plain_value


@dataclass(frozen=True)
class DecodedEvent:
    contract: str
    name: str
    args: dict[str, Any]
    address: str
    block_number: int
    log_index: int
    tx_hash: str
    block_hash: str = ""  # what tells a block from its replacement after a reorg

    def __getitem__(self, key: str) -> Any:
        return self.args[key]

    def to_json(self, chain_id: int) -> dict[str, Any]:
        """The event as JSON for other programs (`openledger watch --json`, webhooks): bytes as 0x hex,
        integers beyond 2**53 as decimal strings; `id` names this log on this branch of this chain."""
        return {
            "type": "event",
            "id": f"{chain_id}:{self.block_hash}:{self.log_index}",
            "chainId": chain_id,
            "block": self.block_number,
            "blockHash": self.block_hash,
            "logIndex": self.log_index,
            "tx": self.tx_hash,
            "contract": self.contract,
            "address": self.address,
            "event": self.name,
            "args": {k: json_value(v) for k, v in self.args.items()},
        }


def json_value(value: Any) -> Any:
    """An event argument as JSON: bytes as 0x hex, lists item by item, integers JSON readers would round
    (beyond 2**53) as decimal strings."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)
    return value


@dataclass(frozen=True)
class _EventSpec:
    name: str
    inputs: tuple[dict[str, Any], ...]


def event_topic(item: dict[str, Any]) -> bytes:
    return keccak(text=f"{item['name']}({','.join(abi_type(i) for i in item['inputs'])})")


def _hex(value: Any) -> str:
    return "0x" + bytes(HexBytes(value)).hex()


class EventDecoder:
    """Knows which contract lives at which address and decodes their logs (others are skipped)."""

    def __init__(self) -> None:
        self._by_address: dict[str, tuple[str, dict[bytes, _EventSpec]]] = {}

    def register(self, name: str, address: str, abi: list[dict[str, Any]]) -> None:
        specs = {
            event_topic(i): _EventSpec(i["name"], tuple(i["inputs"]))
            for i in abi
            if i.get("type") == "event" and not i.get("anonymous")
        }
        self._by_address[address.lower()] = (name, specs)

    def event_names(self) -> list[tuple[str, str]]:
        """(contract, event) for every event of every registered contract, sorted."""
        return sorted({(name, s.name) for name, specs in self._by_address.values() for s in specs.values()})

    def topic(self, address: str, event_name: str) -> bytes:
        """topic0 of `event_name` on the contract at `address` (for eth_getLogs filters)."""
        _, specs = self._by_address[address.lower()]
        for topic, spec in specs.items():
            if spec.name == event_name:
                return topic
        raise KeyError(f"no event {event_name} in the ABI at {address}")

    def decode_log(self, log: Any) -> DecodedEvent | None:
        known = self._by_address.get(str(log["address"]).lower())
        topics = [bytes(HexBytes(t)) for t in log["topics"]]
        if known is None or not topics:
            return None
        contract, specs = known
        spec = specs.get(topics[0])
        if spec is None:
            return None
        return DecodedEvent(
            contract=contract,
            name=spec.name,
            args=_decode_args(spec, topics[1:], log["data"]),
            address=to_checksum_address(log["address"]),
            block_number=int(log["blockNumber"]),
            log_index=int(log["logIndex"]),
            tx_hash=_hex(log["transactionHash"]),
            block_hash=_hex(log["blockHash"]) if log.get("blockHash") else "",
        )

    def decode_logs(self, logs: list[Any]) -> list[DecodedEvent]:
        return [e for e in (self.decode_log(log) for log in logs) if e is not None]


def _decode_args(spec: _EventSpec, topics: list[bytes], data: Any) -> dict[str, Any]:
    indexed = [i for i in spec.inputs if i.get("indexed")]
    plain = [i for i in spec.inputs if not i.get("indexed")]
    values: dict[str, Any] = {}
    for item, topic in zip(indexed, topics, strict=True):
        kind = abi_type(item)
        # Indexed dynamic values (string, bytes, arrays, structs) are stored as their keccak hash.
        dynamic = kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")
        values[item["name"]] = "0x" + topic.hex() if dynamic else plain_value(abi_decode([kind], topic)[0])
    decoded = abi_decode([abi_type(i) for i in plain], bytes(HexBytes(data)))
    for item, value in zip(plain, decoded, strict=True):
        values[item["name"]] = plain_value(value)
    return {i["name"]: values[i["name"]] for i in spec.inputs}  # ABI order, indexed or not
