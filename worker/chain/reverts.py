"""Reverts as Python exceptions that name the contract, the function, the custom error and its arguments."""

from __future__ import annotations

from typing import Any

from web3.exceptions import ContractLogicError

from worker.chain.artifacts import DecodedRevert, ErrorTable
from worker.errors import ChainError


class TransactionReverted(ChainError):
    """A call or transaction reverted. `error_name` and `args` are the decoded custom error.

    `args` is a dict of the error's arguments by name. It deliberately shadows `BaseException.args`
    (kept internally as the message tuple) because reading `exc.args["datanetId"]` is what callers want.
    """

    def __init__(
        self,
        contract: str,
        function: str,
        revert: DecodedRevert | None,
        *,
        stage: str,
        tx_hash: str | None = None,
        detail: str | None = None,
    ):
        self.contract = contract
        self.function = function
        self.revert = revert
        self.stage = stage  # "estimate" (nothing sent) | "receipt" (mined and reverted) | "call"
        self.tx_hash = tx_hash
        what = str(revert) if revert else (detail or "no revert data")
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"{contract}.{function} reverted: {what}{where}")

    @property
    def error_name(self) -> str | None:
        return self.revert.error_name if self.revert else None

    @property
    def args(self) -> dict[str, Any]:  # type: ignore[override]  # noqa: D401 - see class docstring
        return dict(self.revert.args) if self.revert else {}

    @property
    def data(self) -> bytes | None:
        return self.revert.data if self.revert else None


def revert_data(exc: BaseException) -> str | None:
    """The hex revert data web3 attached to a ContractLogicError (or an RPC error payload)."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):  # some nodes nest it: {"data": "0x..."} or {"<hash>": {"return": ...}}
        inner = data.get("data") or next(
            (v.get("return") for v in data.values() if isinstance(v, dict)), None
        )
        data = inner
    if isinstance(data, str) and data.startswith("0x"):
        return data
    return None


def from_logic_error(
    exc: ContractLogicError,
    table: ErrorTable,
    contract: str,
    function: str,
    *,
    stage: str,
    tx_hash: str | None = None,
) -> TransactionReverted:
    decoded = table.decode(revert_data(exc), contract)
    return TransactionReverted(
        contract,
        function,
        decoded,
        stage=stage,
        tx_hash=tx_hash,
        detail=str(exc.message or exc) if decoded is None else None,
    )
