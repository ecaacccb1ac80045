"""What the explorer's pages ask a wallet to sign, built in Python so ABI encoding and every check lives in
one place: each action runs the SDK's own checks as the connected account (an address, never a key: a
ReadOnlySigner at its address), uploads what must be on content storage first, and returns the
transactions for the wallet to send in order. The last transaction is simulated (eth_call from the
account) when nothing before it changes the state it depends on, so a revert is explained before the
wallet opens.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_utils.address import is_address
from eth_utils.crypto import keccak
from web3.exceptions import ContractLogicError

from worker.billing.authorization import REQUEST_TYPES, request_domain
from worker.chain.accounts import ReadOnlySigner
from worker.chain.bindings import ContractBinding
from worker.chain.client import ChainClient
from worker.chain.reverts import TransactionReverted, from_logic_error
from worker.chain.types import Policy
from worker.data.dedup import DuplicateIndex
from worker.datanet.contributing import (
    PreparedContribution,
    accepted_duplicate_index,
    check_submittable,
    find_duplicates,
    prepare_contribution_data,
)
from worker.datanet.creating import build_metadata, prepare_datanet
from worker.datanet.curation import reason_document, require_reviewable
from worker.datanet.publishing import prepare_version
from worker.datanet.state import accepted_contributions, fetch_metadata, require_datanet
from worker.errors import ChainError, DataError, OpenLedgerError, StorageError
from worker.rewards import RewardsError, check_claim, proof_from_report
from worker.storage import ContentStore, KuboClient, verified_stream

NEVER_SIGNS = "the explorer never signs: the wallet in your browser signs and sends"
REQUEST_FETCH_TIMEOUT_S = 10.0  # a CID named by a request: a short wait, not the indexer's long one
MAX_DEDUP_BYTES = 64 * 1024 * 1024  # accepted data above this is not scanned for duplicates per request
DEDUP_ENTRIES = 8  # Datanets whose duplicate index is kept


class DuplicateCache:
    """The duplicate index of each Datanet's accepted records, built once per set of accepted
    contributions (a review or a new version makes a new one) instead of downloading every accepted
    file on each anonymous /validate; at most `entries` Datanets, each at most `max_bytes` of data."""

    def __init__(self, entries: int = DEDUP_ENTRIES, max_bytes: int = MAX_DEDUP_BYTES):
        self.entries, self.max_bytes = entries, max_bytes
        self._cache: OrderedDict[tuple[str, int, tuple[int, ...]], DuplicateIndex] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def index(self, client: ChainClient, store: ContentStore, datanet_id: int) -> DuplicateIndex | None:
        """The index, or None when the Datanet's accepted data is larger than `max_bytes`."""
        accepted = accepted_contributions(client, datanet_id)
        if sum(i.contribution.byte_size for i in accepted) > self.max_bytes:
            return None
        key = (client.datanets.address, datanet_id, tuple(i.contribution_id for i in accepted))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        built = accepted_duplicate_index(client, store, datanet_id)
        with self._lock:
            self.builds += 1
            self._cache[key] = built
            while len(self._cache) > self.entries:
                self._cache.popitem(last=False)
        return built


def request_store(store: ContentStore) -> ContentStore:
    """`store` with a short timeout, for CIDs a request names (an unresolvable one answers quickly); made
    once per explorer (ExplorerService.request_store)."""
    if isinstance(store, KuboClient) and store.timeout_s > REQUEST_FETCH_TIMEOUT_S:
        return KuboClient(store.base_url, profile=store.profile, timeout_s=REQUEST_FETCH_TIMEOUT_S)
    return store


@dataclass(frozen=True)
class WalletTx:
    """One transaction for the wallet: `eth_sendTransaction({from, to, data, value})`."""

    to: str
    data: str
    description: str
    contract: str
    function: str
    value: str = "0x0"


@dataclass(frozen=True)
class WalletPlan:
    account: str
    txs: list[WalletTx]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "txs": [asdict(t) for t in self.txs], "details": self.details}


def as_account(client: ChainClient, address: str) -> ChainClient:
    """The client reading and simulating as the connected wallet's address; it cannot sign (the sender
    refuses a ReadOnlySigner before any RPC): the wallet in the browser signs, no key is on the server."""
    if not is_address(address):
        raise DataError(f"{address!r} is not an Ethereum address (0x followed by 40 hex digits)")
    return client.as_account(ReadOnlySigner(NEVER_SIGNS, address))


def _tx(binding: ContractBinding, function: str, description: str, *args: Any) -> WalletTx:
    data = "0x" + binding.encode(function, *args).hex()
    return WalletTx(binding.address, data, description, binding.NAME, function)


def _approve(client: ChainClient, spender: str, amount: int, what: str) -> list[WalletTx]:
    """An approve transaction first when the account's allowance does not cover `amount`."""
    if amount <= 0 or client.token.allowance(client.address, spender) >= amount:
        return []
    return [_tx(client.token, "approve", f"allow {what} to take {amount} wei of OPEN", spender, amount)]


def simulate(client: ChainClient, tx: WalletTx) -> None:
    """eth_call the transaction as the account: TransactionReverted (decoded) if it would revert."""
    try:
        client.w3.eth.call({"from": client.address, "to": tx.to, "data": tx.data})  # type: ignore[typeddict-item]
    except ContractLogicError as exc:
        raise from_logic_error(
            exc, client.sender.errors, tx.contract, tx.function, stage="estimate"
        ) from None


def _plan(client: ChainClient, txs: list[WalletTx], **details: Any) -> WalletPlan:
    if len(txs) == 1:  # with an approve first, the call would see the allowance not yet given
        simulate(client, txs[0])
    return WalletPlan(client.address, txs, details)


# -- Datanets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatanetForm:
    name: str
    task: str
    labels: Sequence[str]
    licence: str
    description: str
    stake: int
    review_period: int
    slash_bps: int
    curators: Sequence[str]
    treasury: str | None = None


def create_datanet(client: ChainClient, store: ContentStore, form: DatanetForm) -> WalletPlan:
    metadata = build_metadata(
        name=form.name, task=form.task, labels=form.labels, licence=form.licence, description=form.description
    )
    policy = Policy(form.stake, form.review_period, form.slash_bps)
    cid, treasury, curators = prepare_datanet(client, store, metadata, policy, form.curators, form.treasury)
    tx = _tx(
        client.datanets, "createDatanet", f"create Datanet {form.name!r}",
        cid, treasury, policy.as_tuple(), list(curators),
    )  # fmt: skip
    return _plan(client, [tx], metadata_cid=cid)


def validate_file(
    client: ChainClient,
    store: ContentStore,
    datanet_id: int,
    data: bytes,
    dedup: DuplicateCache | None = None,
) -> dict[str, Any]:
    """The checks `openledger contribute` makes before any upload or gas: schema and limits (an invalid
    file raises InvalidContributionError with every bad line), duplicates of accepted records (warnings),
    and whether the account can submit it."""
    prepared = prepare_contribution_data(client, store, datanet_id, data, source="upload")
    problems: list[str] = []
    try:
        check_submittable(client, prepared)
    except OpenLedgerError as exc:
        problems.append(str(exc))
    index = dedup.index(client, store, datanet_id) if dedup is not None else None
    if dedup is not None and index is None:
        problems.append(
            f"duplicates not checked: datanet {datanet_id}'s accepted data exceeds {dedup.max_bytes} bytes"
        )
    duplicates = find_duplicates(index, prepared) if index is not None else []
    return {
        "cid": prepared.cid,
        "byte_size": prepared.byte_size,
        "record_count": prepared.record_count,
        "stake": str(prepared.stake),
        "duplicates": [d.render() for d in duplicates],
        "problems": problems,
    }


def upload_file(client: ChainClient, store: ContentStore, datanet_id: int, data: bytes) -> dict[str, Any]:
    """Validate again (the bytes uploaded are the bytes checked), then add them to content storage."""
    prepared = prepare_contribution_data(client, store, datanet_id, data, source="upload")
    cid = store.add(prepared.data)
    if cid != prepared.cid:
        raise StorageError(
            f"the store computed {cid}, the datanet's CID profile {prepared.cid}: not uploaded"
        )
    return {"cid": cid, "byte_size": prepared.byte_size, "record_count": prepared.record_count}


def _uploaded(client: ChainClient, store: ContentStore, datanet_id: int, cid: str) -> PreparedContribution:
    # The file a request names is read no further than the Datanet's own limit, with a short timeout.
    limit = fetch_metadata(store, datanet_id, require_datanet(client, datanet_id)).limits.max_file_bytes
    chunks, size = [], 0
    for chunk in verified_stream(store, cid):  # verified once the last chunk is read
        size += len(chunk)
        if size > limit:
            raise DataError(f"{cid} is larger than datanet {datanet_id}'s limit of {limit} bytes per file")
        chunks.append(chunk)
    data = b"".join(chunks)
    prepared = prepare_contribution_data(client, store, datanet_id, data, source=cid)
    if prepared.cid != cid:
        raise DataError(f"{cid} is not a CID in datanet {datanet_id}'s CID profile (expected {prepared.cid})")
    return prepared


def contribute(client: ChainClient, store: ContentStore, datanet_id: int, cid: str) -> WalletPlan:
    """approve (if needed) + contribute, for a file already uploaded and valid."""
    prepared = _uploaded(client, store, datanet_id, cid)
    check_submittable(client, prepared)
    registry = client.datanets
    txs = _approve(client, registry.address, prepared.stake, "the DatanetRegistry (stake)")
    txs.append(
        _tx(
            registry, "contribute", f"submit {cid} to Datanet {datanet_id} with its stake",
            datanet_id, cid, prepared.byte_size, prepared.record_count,
        )
    )  # fmt: skip
    return _plan(client, txs, cid=cid, stake=str(prepared.stake))


def review(
    client: ChainClient, store: ContentStore, contribution_id: int, accept: bool, reason: str
) -> WalletPlan:
    contribution = require_reviewable(client, contribution_id)
    reason_cid = ""
    if reason:
        reason_cid = store.add(reason_document(contribution_id, contribution, accept, client.address, reason))
    verb = "accept" if accept else "reject"
    tx = _tx(
        client.datanets,
        "review",
        f"{verb} contribution #{contribution_id}",
        contribution_id,
        accept,
        reason_cid,
    )
    return _plan(client, [tx], reason_cid=reason_cid)


def publish(client: ChainClient, store: ContentStore, datanet_id: int) -> WalletPlan:
    manifest, manifest_cid = prepare_version(client, store, datanet_id)
    root = manifest.merkle_root()
    tx = _tx(
        client.datanets, "publishVersion", f"publish the next version of Datanet {datanet_id}",
        datanet_id, bytes.fromhex(root[2:]), manifest_cid, manifest.record_count, manifest.contribution_count,
    )  # fmt: skip
    return _plan(client, [tx], manifest_cid=manifest_cid, merkle_root=root)


# -- inference, claims, withdrawals -------------------------------------------------------------------


def pay(client: ChainClient, model_id: int, requests: int) -> WalletPlan:
    """approve (if needed) + payForInference at today's price as the maximum (a raised price reverts)."""
    if not 1 <= requests <= 1_000:
        raise DataError(f"pay for 1 to 1000 requests at a time, not {requests}")
    price = client.models.get_model(model_id).price_per_inference
    vault = client.vault
    txs = _approve(client, vault.address, price * requests, "the RewardVault (inference fee)")
    ref = os.urandom(32)
    txs.append(
        _tx(
            vault,
            "payForInference",
            f"pay {requests} request(s) of model {model_id}",
            model_id,
            requests,
            price,
            ref,
        )
    )
    return _plan(client, txs, price=str(price), requests=requests)


def request_typed_data(
    client: ChainClient, model_id: int, payment_id: int, index: int, body: bytes
) -> dict[str, Any]:
    """The EIP-712 request authorization (worker/billing/authorization.py) for eth_signTypedData_v4."""
    domain = request_domain(client.sender.chain_id, client.vault.address)
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **REQUEST_TYPES,
        },
        "primaryType": "InferenceRequest",
        "domain": domain,
        "message": {
            "modelId": str(model_id),
            "paymentId": str(payment_id),
            "requestIndex": str(index),
            "bodyHash": "0x" + keccak(body).hex(),
        },
    }


def claim(client: ChainClient, store: ContentStore, model_id: int, epoch: int) -> WalletPlan:
    """The account's leaf and proof from the epoch's on-chain report, checked as the vault would."""
    leaf, proof = proof_from_report(client, store, model_id, epoch, client.address)
    check_claim(client, model_id, epoch, leaf, proof)
    tx = _tx(
        client.vault, "claim", f"claim {leaf.amount} wei from epoch {epoch} of model {model_id}",
        model_id, epoch, leaf.index, leaf.account, leaf.amount, list(proof),
    )  # fmt: skip
    return _plan(client, [tx], amount=str(leaf.amount), index=leaf.index)


def withdraw(client: ChainClient) -> WalletPlan:
    """withdraw() from each contract that credits the account something."""
    txs, owed = [], {}
    for binding in (client.models, client.vault):
        amount = binding.credited(client.address)
        owed[binding.NAME] = str(amount)
        if amount:
            txs.append(_tx(binding, "withdraw", f"withdraw {amount} wei from {binding.NAME}"))
    if not txs:
        raise ChainError(f"{client.address} has nothing to withdraw (0 OPEN credited); nothing was sent")
    for tx in txs:
        simulate(client, tx)  # independent: each withdraws its own contract's balance
    return WalletPlan(client.address, txs, {"owed": owed})


__all__ = [
    "DatanetForm",
    "RewardsError",
    "TransactionReverted",
    "WalletPlan",
    "WalletTx",
    "DuplicateCache",
    "as_account",
    "claim",
    "contribute",
    "create_datanet",
    "pay",
    "publish",
    "request_typed_data",
    "review",
    "simulate",
    "upload_file",
    "validate_file",
    "withdraw",
]
