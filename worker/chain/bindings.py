"""Base of the typed contract wrappers: views that decode reverts, transactions that return `TxResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.types import BlockIdentifier, TxReceipt

from worker.chain.artifacts import Artifact, load_artifact
from worker.chain.events import DecodedEvent
from worker.chain.reverts import from_logic_error
from worker.chain.sender import Call
from worker.errors import ChainError

if TYPE_CHECKING:
    from worker.chain.client import ChainClient


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: hash, block, gas, the events it emitted (decoded), and the id it created."""

    tx_hash: str
    block_number: int
    gas_used: int
    events: list[DecodedEvent] = field(default_factory=list)
    created_id: int | None = None

    def events_named(self, name: str) -> list[DecodedEvent]:
        return [e for e in self.events if e.name == name]

    def event(self, name: str) -> DecodedEvent:
        """The first event called `name`; a ChainError lists what was emitted if there is none."""
        found = self.events_named(name)
        if not found:
            emitted = ", ".join(e.name for e in self.events) or "nothing"
            raise ChainError(f"tx {self.tx_hash} emitted no {name} (emitted: {emitted})")
        return found[0]


@lru_cache(maxsize=32)
def cached_artifact(name: str) -> Artifact:
    return load_artifact(name)


class ContractBinding:
    """A deployed contract seen through its ABI, acting as the client's account."""

    NAME: ClassVar[str]
    # Event (name, argument) carrying the id a creating function returns, by function name.
    CREATED_ID: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init__(self, client: ChainClient, address: str):
        self.client = client
        self.address: ChecksumAddress = to_checksum_address(address)
        self.abi = cached_artifact(self.NAME).abi
        self.contract: Contract = client.w3.eth.contract(
            address=self.address, abi=self.abi, decode_tuples=True
        )

    def __repr__(self) -> str:
        return f"{self.NAME}({self.address}) as {self.client.address}"

    def encode(self, function: str, *args: Any) -> bytes:
        """Calldata of `function(*args)` (e.g. for a governance proposal)."""
        return bytes.fromhex(self.contract.encode_abi(function, args=list(args))[2:])

    def view(self, function: str, *args: Any) -> Any:
        """Call a view as the client's account; a revert raises TransactionReverted (stage "call")."""
        try:
            return getattr(self.contract.functions, function)(*args).call({"from": self.client.address})
        except ContractLogicError as exc:
            raise from_logic_error(
                exc, self.client.sender.errors, self.NAME, function, stage="call"
            ) from None

    def transact(self, function: str, *args: Any, value: int = 0, gas: int | None = None) -> TxResult:
        call = Call(self.NAME, function, self.address, self.encode(function, *args), value)
        receipt = self.client.sender.send(call, gas=gas)
        return self._result(function, receipt)

    def _result(self, function: str, receipt: TxReceipt) -> TxResult:
        events = self.client.decoder.decode_logs(list(receipt["logs"]))
        created = None
        if function in self.CREATED_ID:
            event_name, arg = self.CREATED_ID[function]
            created = next(
                (int(e.args[arg]) for e in events if e.name == event_name and e.address == self.address), None
            )
        return TxResult(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            events=events,
            created_id=created,
        )

    def get_events(
        self,
        event: str,
        from_block: int = 0,
        to_block: BlockIdentifier = "latest",
        *indexed: int | str | None,
    ) -> list[DecodedEvent]:
        """Every `event` this contract emitted in [from_block, to_block], decoded, in chain order.

        `indexed` filters on the event's indexed arguments in order (a uint or an address; None matches
        anything), so the node does the filtering: `get_events("InferencePaid", 0, "latest", 7)`.
        `to_block` (a number or a tag such as "latest" or "finalized") is resolved once, and the range is
        asked for in pieces of at most `client.max_log_range` blocks: hosted RPCs refuse wider ranges."""
        topics = ["0x" + self.client.decoder.topic(self.address, event).hex(), *map(_topic_value, indexed)]
        last, step = self.client.block_number_of(to_block), self.client.max_log_range
        logs: list[Any] = []
        for start in range(max(from_block, 0), last + 1, step):
            end = min(last, start + step - 1)
            query = {"address": self.address, "topics": topics, "fromBlock": start, "toBlock": end}
            logs += self.client.w3.eth.get_logs(query)  # type: ignore[arg-type]
        return self.client.decoder.decode_logs(logs)

    def has_role(self, role: bytes, account: str) -> bool:
        return bool(self.view("hasRole", role, to_checksum_address(account)))


def _topic_value(value: int | str | None) -> str | None:
    """An indexed uint or address as a 32-byte log topic."""
    if value is None:
        return None
    number = int(value, 16) if isinstance(value, str) else int(value)
    return "0x" + number.to_bytes(32, "big").hex()
