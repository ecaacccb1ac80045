"""Connecting to an RPC endpoint, and the Anvil-only controls tests and local tools use (time, blocks)."""

from __future__ import annotations

from typing import Any

import requests
from web3 import HTTPProvider, Web3

from worker.chain.finality import LOCAL_CHAIN_IDS
from worker.chain.nonces import forget_nonces
from worker.errors import ChainError


def connect(rpc_url: str, timeout: float = 30.0) -> Web3:
    """A Web3 on `rpc_url`, checked to answer. Retries are ours (sender), so web3's own are off."""
    provider = HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
    w3 = Web3(provider)
    try:
        w3.eth.chain_id  # noqa: B018 - the cheapest call that proves the node answers
    except (requests.ConnectionError, requests.Timeout, OSError) as exc:
        raise ChainError(
            f"cannot reach the RPC at {rpc_url}: start a local chain with `openledger node` "
            "or point OPENLEDGER_RPC at a running node"
        ) from exc
    return w3


def genesis_hash(w3: Web3) -> str:
    """Block 0's hash: tells two chains with the same id apart (each fresh Anvil has its own)."""
    return "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()


def chain_key(chain_id: int, genesis: str) -> str:
    """`<chainId>-<first 12 hex digits of the genesis hash>`: names what local state belongs to (a
    deployment record, a worker's or watcher's cursor, an explorer index), since every fresh Anvil is
    chain 31337 with a genesis of its own."""
    return f"{chain_id}-{genesis.removeprefix('0x')[:12]}"


def endpoint_of(w3: Web3) -> str:
    return str(getattr(w3.provider, "endpoint_uri", None) or id(w3.provider))


class DevChain:
    """Anvil's test controls: snapshots, time travel, mining. Only for local development chains."""

    def __init__(self, w3: Web3):
        self.w3 = w3

    def require_local(self, what: str) -> int:
        """The chain id, if it is a local development chain (Anvil, Hardhat); else a ChainError: `what`
        (e.g. "moving the clock") must never be attempted on a shared chain."""
        chain_id = int(self.w3.eth.chain_id)
        if chain_id not in LOCAL_CHAIN_IDS:
            local = " or ".join(str(c) for c in LOCAL_CHAIN_IDS)
            raise ChainError(
                f"{what} works on a local development chain only (chain id {local}); "
                f"{endpoint_of(self.w3)} is chain {chain_id}: nothing was done"
            )
        return chain_id

    def set_balance(self, account: str, wei: int) -> None:
        """Set an account's ETH balance (anvil_setBalance)."""
        self.rpc("anvil_setBalance", [account, hex(wei)])

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        reply = self.w3.provider.make_request(method, params or [])  # type: ignore[arg-type]
        if "error" in reply:
            raise ChainError(f"{method} failed: {reply['error']}: is this an Anvil node?")
        return reply.get("result")

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        """Rewind to a snapshot; cached nonces would now be ahead of the chain, so they are dropped."""
        if not self.rpc("evm_revert", [snapshot_id]):
            raise ChainError(f"evm_revert to snapshot {snapshot_id} failed (each snapshot can be used once)")
        forget_nonces(self.w3.eth.chain_id)

    def rollback(self, depth: int) -> None:
        """Drop the last `depth` blocks (their transactions are gone): the chain is now shorter."""
        self.rpc("anvil_rollback", [depth])
        forget_nonces(self.w3.eth.chain_id)

    def reorg(self, depth: int, transactions: list[tuple[dict[str, Any], int]] | None = None) -> None:
        """Replace the last `depth` blocks with as many new ones (same height, new hashes), holding
        `transactions` as (tx, block offset) pairs; the old blocks' transactions are gone."""
        self.rpc("anvil_reorg", [depth, [[tx, offset] for tx, offset in transactions or []]])
        forget_nonces(self.w3.eth.chain_id)

    def increase_time(self, seconds: int) -> None:
        """Move the clock forward and mine a block so that `block.timestamp` shows it."""
        self.rpc("evm_increaseTime", [int(seconds)])
        self.mine()

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def set_automine(self, enabled: bool) -> None:
        self.rpc("evm_setAutomine", [enabled])

    def timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)
