"""`openledger withdraw`: pull what the protocol credited to your account (the balances `openledger
status` reports as withdrawable): bounties, fee shares and challenge payouts in ModelRegistry, fee shares
and payouts in RewardVault. Nothing is sent for a contract that owes the account nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from worker.cli.cli_output import emit_json, literal_errors, open_amount, say
from worker.cli.options import (
    ApeAccountOption,
    DevAccountOption,
    JsonOption,
    KeystoreOption,
    RpcOption,
    wallet_client,
)

if TYPE_CHECKING:
    from worker.chain.model_registry import ModelRegistry
    from worker.chain.reward_vault import RewardVault

SOURCES = ("ModelRegistry", "RewardVault")


@literal_errors
def withdraw_command(
    source: Annotated[
        str | None,
        typer.Option("--from", help="Only this contract: ModelRegistry or RewardVault (default: both)"),
    ] = None,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    ape_account: ApeAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw the OPEN credited to your account (bounties, fee shares, challenge payouts) from
    ModelRegistry and RewardVault."""
    from worker.errors import ChainError

    by_name = {name.lower(): name for name in SOURCES}
    if source is not None and source.lower() not in by_name:
        raise typer.BadParameter(f"{source!r} is not one of {', '.join(SOURCES)}", param_hint="--from")
    client = wallet_client(rpc, keystore, dev_account, ape_account)
    contracts: dict[str, ModelRegistry | RewardVault] = {
        "ModelRegistry": client.models,
        "RewardVault": client.vault,
    }
    names = [by_name[source.lower()]] if source else list(SOURCES)
    owed = {name: contracts[name].credited(client.address) for name in names}
    if not any(owed.values()):
        raise ChainError(
            f"{client.address} has nothing to withdraw from {' or '.join(names)} (0 OPEN credited); "
            "nothing was sent"
        )
    withdrawn = []
    for name, amount in owed.items():
        if amount == 0:
            continue
        tx = contracts[name].withdraw()
        paid = int(tx.event("Withdrawn")["amount"])
        withdrawn.append({"contract": name, "amount": str(paid), "tx_hash": tx.tx_hash})
        if not as_json:
            say(f"withdrew {open_amount(paid)} from {name} (tx {tx.tx_hash})", "green")
    if as_json:
        emit_json({"account": client.address, "withdrawn": withdrawn})
    else:
        say(f"  {client.address} now holds {open_amount(client.token.balance_of(client.address))}")


def register(app: typer.Typer) -> None:
    app.command("withdraw")(withdraw_command)
