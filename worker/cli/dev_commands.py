"""`openledger dev fund ADDRESS AMOUNT` and `openledger dev advance-time DURATION`: the two things a local
journey needs that no user action gives: OPEN (and gas money) for a fresh account, and the clock moved
past a review period or challenge window. Local chains only (Anvil, Hardhat): anywhere else they are
refused before anything is sent."""

from __future__ import annotations

from typing import Annotated

import typer

from worker.cli.cli_output import emit_json, literal_errors, open_amount, say, span, when
from worker.cli.options import JsonOption, RpcOption, connect_rpc

dev_app = typer.Typer(
    name="dev",
    help="Local development chains only: fund an account, move the clock.",
    no_args_is_help=True,
)
ETH = 10**18


@dev_app.command("fund")
@literal_errors
def fund_command(
    address: Annotated[str, typer.Argument(help="Account to fund")],
    amount: Annotated[str, typer.Argument(help="OPEN to send, e.g. 1000 or 0.5")],
    eth: Annotated[str, typer.Option(help="ETH added to the account's balance for gas")] = "10",
    from_dev_account: Annotated[
        int, typer.Option(help="Dev account the OPEN comes from (0: the deployer, which holds the supply)")
    ] = 0,
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send AMOUNT OPEN to ADDRESS from a local dev account (the deployer by default) and add --eth ETH
    to its balance (anvil_setBalance)."""
    from worker.chain.accounts import dev_signer
    from worker.chain.client import ChainClient
    from worker.chain.connection import DevChain
    from worker.chain.deployment import load_deployment
    from worker.cli.options import parse_open
    from worker.datanet.creating import checked_address

    account = checked_address(address, "address")
    wei, eth_wei = parse_open(amount, "AMOUNT"), parse_open(eth, "--eth")  # ETH has 18 decimals too
    w3 = connect_rpc(rpc)
    dev = DevChain(w3)
    dev.require_local("`openledger dev fund`")
    client = ChainClient(w3, dev_signer(from_dev_account), load_deployment(w3))
    tx = None
    if wei:
        client.token.require_balance(wei, f"the {open_amount(wei)} to send")
        tx = client.token.transfer(account, wei)
    if eth_wei:
        dev.set_balance(account, int(w3.eth.get_balance(account)) + eth_wei)
    balance, eth_balance = client.token.balance_of(account), int(w3.eth.get_balance(account))
    if as_json:
        emit_json(
            {
                "address": account,
                "from": client.address,
                "open_sent": str(wei),
                "eth_added": str(eth_wei),
                "open_balance": str(balance),
                "eth_balance": str(eth_balance),
                "tx_hash": tx.tx_hash if tx else None,
            }
        )
        return
    say(f"sent {open_amount(wei)} from {client.address} and {eth_wei / ETH:g} ETH to {account}", "green")
    say(f"  {account} holds {open_amount(balance)} and {eth_balance / ETH:,.4f} ETH")


@dev_app.command("advance-time")
@literal_errors
def advance_time_command(
    duration: Annotated[str, typer.Argument(help="How far to move the clock: 3600, 90s, 30m, 12h, 7d")],
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move the local chain's clock forward by DURATION and mine a block (evm_increaseTime + mine), e.g.
    past a review period or a challenge window."""
    from worker.chain.connection import DevChain
    from worker.cli.options import parse_duration

    seconds = parse_duration(duration, "DURATION")
    dev = DevChain(connect_rpc(rpc))
    dev.require_local("`openledger dev advance-time`")
    before = dev.timestamp()
    dev.increase_time(seconds)
    after = dev.timestamp()
    if as_json:
        emit_json({"advanced": seconds, "before": before, "timestamp": after, "block": dev.block_number()})
        return
    date = when(after, after).removesuffix(", just now")
    say(f"moved the clock {span(seconds)} forward: chain time is now {date} (block {dev.block_number()})")


def register(app: typer.Typer) -> None:
    app.add_typer(dev_app)
