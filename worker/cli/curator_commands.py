"""`openledger datanet curators add|remove DATANET ADDRESS`: the Datanet owner chooses who reviews
contributions. Checked before any gas: the caller owns the Datanet, and the change changes something."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from worker.cli.cli_output import emit_json, literal_errors, say
from worker.cli.datanet_commands import datanet_app
from worker.cli.options import DevAccountOption, JsonOption, KeystoreOption, RpcOption, connect_client

curators_app = typer.Typer(
    name="curators", help="Add or remove a Datanet's curators (its owner).", no_args_is_help=True
)
DatanetArgument = Annotated[int, typer.Argument(help="Datanet id")]
AddressArgument = Annotated[str, typer.Argument(help="Curator address")]


def _set(
    datanet_id: int,
    address: str,
    enabled: bool,
    rpc: str | None,
    keystore: Path | None,
    dev_account: int | None,
    as_json: bool,
) -> None:
    from worker.datanet.creating import checked_address
    from worker.datanet.state import require_datanet

    curator = checked_address(address, "curator")
    client = connect_client(rpc, keystore, dev_account, signing=True)
    require_datanet(client, datanet_id)
    tx = client.datanets.set_curator(datanet_id, curator, enabled)
    if as_json:
        emit_json({"datanet_id": datanet_id, "curator": curator, "enabled": enabled, "tx_hash": tx.tx_hash})
        return
    verb = "is now a curator of" if enabled else "is no longer a curator of"
    say(f"{curator} {verb} datanet {datanet_id}", "green")


@curators_app.command("add")
@literal_errors
def add_command(
    datanet_id: DatanetArgument,
    address: AddressArgument,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Let ADDRESS review DATANET_ID's contributions (Datanet owner)."""
    _set(datanet_id, address, True, rpc, keystore, dev_account, as_json)


@curators_app.command("remove")
@literal_errors
def remove_command(
    datanet_id: DatanetArgument,
    address: AddressArgument,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop ADDRESS from reviewing DATANET_ID's contributions (Datanet owner)."""
    _set(datanet_id, address, False, rpc, keystore, dev_account, as_json)


def register(app: typer.Typer) -> None:
    datanet_app.add_typer(curators_app)
