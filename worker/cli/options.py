"""What every `openledger` command shares: the account and output options, how a command gets its chain
client (reads need no key; signing uses the key from the environment, a keystore, an ape account or an
Anvil dev account), and the parsing of OPEN amounts and durations.

web3 and the chain package are imported inside the functions so that `openledger --help` stays fast.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from worker.units import OPEN

if TYPE_CHECKING:
    from web3 import Web3

    from worker.chain.accounts import Signer
    from worker.chain.client import ChainClient

ANVIL_CHAIN_ID = 31337
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

RpcOption = Annotated[
    str | None, typer.Option("--rpc", help="RPC endpoint (default: $OPENLEDGER_RPC or http://127.0.0.1:8545)")
]
KeystoreOption = Annotated[
    Path | None,
    typer.Option(
        "--keystore", help="Encrypted key file; password from $OPENLEDGER_KEYSTORE_PASSWORD or a prompt"
    ),
]
DevAccountOption = Annotated[
    int | None, typer.Option("--dev-account", help="Use Anvil dev account N (local chains only)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON")]
ApeAccountOption = Annotated[
    str | None,
    typer.Option(
        "--ape-account",
        help="Sign with this ape account (its keyfile in ~/.ape/accounts); passphrase from "
        "$OPENLEDGER_KEYSTORE_PASSWORD or a prompt",
    ),
]


# -- chain clients -------------------------------------------------------------------------------------


def connect_rpc(rpc: str | None) -> Web3:
    from worker.chain.connection import connect
    from worker.config import load_settings

    return connect(rpc or load_settings().rpc_url)


def resolve_cli_signer(
    w3: Web3, keystore: Path | None, dev_account: int | None, required: bool
) -> Signer | None:
    """The active account; on a local Anvil with nothing configured, dev account 0."""
    from worker.chain.accounts import resolve_signer
    from worker.errors import ChainError

    if dev_account is None and keystore is None and int(w3.eth.chain_id) == ANVIL_CHAIN_ID:
        dev_account = 0
    try:
        return resolve_signer(keystore, dev_account)
    except ChainError:
        if required:
            raise
        return None


def connect_client(
    rpc: str | None, keystore: Path | None, dev_account: int | None, *, signing: bool
) -> ChainClient:
    """A client on the recorded (and verified) deployment; reads need no account (never a prompt)."""
    from worker.chain.accounts import ReadOnlySigner
    from worker.chain.client import ChainClient
    from worker.chain.deployment import load_deployment

    w3 = connect_rpc(rpc)
    deployment = load_deployment(w3)
    signer = resolve_cli_signer(w3, keystore, dev_account, required=True) if signing else None
    return ChainClient(w3, signer or ReadOnlySigner(), deployment)


def ape_keyfile(alias: str) -> Path:
    """An ape account's keyfile: the same encrypted JSON format as an eth-account keystore."""
    from worker.errors import ChainError

    folder = Path(os.environ.get("APE_DATA_FOLDER") or Path.home() / ".ape")
    path = folder / "accounts" / f"{alias}.json"
    if not path.is_file():
        raise ChainError(
            f"no ape account {alias!r} (looked for {path}): create it with `ape accounts generate {alias}` "
            f"or `ape accounts import {alias}`"
        )
    return path


def wallet_client(
    rpc: str | None, keystore: Path | None, dev_account: int | None, ape_account: str | None
) -> ChainClient:
    """A signing client: the key from the environment, a keystore, an ape account or a dev account."""
    from worker.errors import ChainError

    if ape_account is not None:
        if keystore is not None:
            raise ChainError("give either --keystore or --ape-account, not both")
        keystore = ape_keyfile(ape_account)
    return connect_client(rpc, keystore, dev_account, signing=True)


# -- amounts and durations -----------------------------------------------------------------------------


def parse_open(text: str, option: str) -> int:
    """'10' or '0.5' OPEN -> wei."""
    try:
        wei = Decimal(text) * OPEN
    except InvalidOperation as exc:
        raise typer.BadParameter(
            f"{text!r} is not an amount of OPEN (e.g. 10 or 0.5)", param_hint=option
        ) from exc
    if not wei.is_finite() or wei < 0 or wei != wei.to_integral_value():
        raise typer.BadParameter(
            f"{text!r} is not a non-negative amount with at most 18 decimals", param_hint=option
        )
    return int(wei)


def parse_duration(text: str, option: str) -> int:
    """'3600', '90s', '30m', '12h', '7d' -> seconds."""
    text = text.strip().lower()
    unit = DURATION_UNITS.get(text[-1:], None)
    number = text[:-1] if unit else text
    if not number.isdigit():
        raise typer.BadParameter(f"{text!r} is not a duration (e.g. 3600, 30m, 12h, 7d)", param_hint=option)
    return int(number) * (unit or 1)
