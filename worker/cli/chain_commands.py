"""`openledger node`, `openledger deploy`, `openledger status`: a local chain, the protocol on it, and a look.

web3 and the chain package are imported inside the commands so that `openledger --help` stays fast.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.errors import friendly_errors
from worker.cli.options import (
    ANVIL_CHAIN_ID,
    DevAccountOption,
    JsonOption,
    KeystoreOption,
    RpcOption,
    connect_rpc,
    resolve_cli_signer,
)

console = Console()


@friendly_errors
def node_command(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8545,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    accounts: Annotated[int, typer.Option(help="Number of funded dev accounts")] = 20,
    block_time: Annotated[int | None, typer.Option(help="Seconds per block (default: one per tx)")] = None,
    deploy: Annotated[bool, typer.Option("--deploy", help="Deploy the protocol once the node is up")] = False,
) -> None:
    """Run a local Anvil chain in the foreground (Ctrl-C or SIGTERM stops it; a busy port is refused)."""
    from worker.chain.anvil import Anvil, AnvilConfig

    config = AnvilConfig(host=host, port=port, accounts=accounts, block_time=block_time, die_with_parent=True)
    anvil = Anvil(config)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill`, systemd, docker stop: the same path as Ctrl-C
    try:  # from the start: a Ctrl-C at any point must not leave anvil running
        anvil.start(quiet=True)
        console.print(
            f"[green]anvil[/] listening on {anvil.rpc_url} (chain {ANVIL_CHAIN_ID}, {accounts} dev accounts)"
        )
        if deploy:
            _print_deployment(_deploy(anvil.rpc_url, None, 0, False, "local"), as_json=False)
        else:
            console.print(
                "deploy the protocol with `openledger deploy` (a restarted node needs a new deployment)"
            )
        anvil.wait()
    except KeyboardInterrupt:
        console.print("stopping anvil")
    finally:
        anvil.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _deploy(
    rpc: str | None, keystore: Path | None, dev_account: int | None, keep_admin: bool, profile: str
) -> Any:
    import dataclasses

    from worker.chain.deployment import DeploymentConfig, deploy_system

    w3 = connect_rpc(rpc)
    signer = resolve_cli_signer(w3, keystore, dev_account, required=True)
    assert signer is not None
    config = dataclasses.replace(DeploymentConfig.for_profile(profile), keep_deployer_admin=keep_admin)
    return deploy_system(
        w3,
        signer,
        config,
        progress=lambda line: console.print(f"  deployed {line}", highlight=False, soft_wrap=True),
    )


def _print_deployment(deployment: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps({**deployment.to_dict(), "path": str(deployment.path)}, indent=2))
        return
    table = Table(title=f"OpenLedger on chain {deployment.chain_id} (block {deployment.block_number})")
    table.add_column("contract")
    table.add_column("address")
    for name, address in deployment.addresses.items():
        table.add_row(name, address)
    console.print(table)
    console.print(f"recorded in {deployment.path}")


@friendly_errors
def deploy_command(
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    keep_deployer_admin: Annotated[
        bool, typer.Option(help="Keep the deployer's admin roles (tests only)")
    ] = False,
    profile: Annotated[
        str,
        typer.Option(
            help="Governance and window values: 'local' (Anvil and the demo: seconds-long votes and "
            "timelock, hour-long windows) or 'production' (2-day timelock, week-long votes, a 1M OPEN "
            "proposal threshold, 4% quorum, 3-day challenge windows)"
        ),
    ] = "local",
    as_json: JsonOption = False,
) -> None:
    """Deploy the whole protocol (token, governance, registries, vault) and record the addresses."""
    if as_json:
        console.quiet = True  # progress lines would break the JSON on stdout
    deployment = _deploy(rpc, keystore, dev_account, keep_deployer_admin, profile)
    console.quiet = False
    _print_deployment(deployment, as_json)


def _status(rpc: str | None, keystore: Path | None, dev_account: int | None) -> dict[str, Any]:
    from worker.chain.client import ChainClient
    from worker.chain.deployment import artifact_drift, load_deployment
    from worker.errors import ChainError

    w3 = connect_rpc(rpc)
    out: dict[str, Any] = {
        "rpc": w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "chainId": int(w3.eth.chain_id),
        "headBlock": int(w3.eth.block_number),
    }
    try:
        deployment = load_deployment(w3)
    except ChainError as exc:
        out["deployment"] = {"error": str(exc)}
        return out
    out["deployment"] = {
        "path": str(deployment.path),
        "block": deployment.block_number,
        "addresses": deployment.addresses,
        "rebuiltSinceDeploy": artifact_drift(deployment),
    }
    signer = resolve_cli_signer(w3, keystore, dev_account, required=False)
    if signer is not None:
        client = ChainClient(w3, signer, deployment)
        out["account"] = {
            "address": signer.address,
            "source": signer.source,
            "eth": client.eth_balance(),
            "open": client.token.balance_of(signer.address),
            "votes": client.token.get_votes(signer.address),
            "creditedModelRegistry": client.models.credited(signer.address),
            "creditedRewardVault": client.vault.credited(signer.address),
        }
    return out


def _status_when_ready(
    rpc: str | None, keystore: Path | None, dev_account: int | None, wait: float
) -> dict[str, Any]:
    """`_status`, polled for up to `wait` seconds until the node answers and its deployment is there."""
    from worker.errors import ChainError

    deadline = time.monotonic() + wait
    while True:
        try:
            status = _status(rpc, keystore, dev_account)
        except ChainError:
            if time.monotonic() >= deadline:
                raise
        else:
            if "error" not in status["deployment"] or time.monotonic() >= deadline:
                return status
        time.sleep(0.5)


@friendly_errors
def status_command(
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    wait: Annotated[
        float,
        typer.Option(help="Wait up to this many seconds for the node and its deployment (one just started)"),
    ] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Chain id, head block, the recorded deployment and the active account's balances. With --wait,
    exits 1 if the node or its deployment is not there in time (scripts: after `openledger node &`)."""
    status = _status_when_ready(rpc, keystore, dev_account, wait)
    if as_json:
        print(json.dumps(status, indent=2))
        return
    console.print(f"chain {status['chainId']} at {status['rpc']}, head block {status['headBlock']}")
    deployment = status["deployment"]
    if "error" in deployment:
        console.print(f"[yellow]deployment:[/] {deployment['error']}")
        if wait:
            raise typer.Exit(code=1)
        return
    console.print(f"deployment {deployment['path']} (block {deployment['block']})")
    for name, address in deployment["addresses"].items():
        console.print(f"  {name:<16} {address}")
    if deployment["rebuiltSinceDeploy"]:
        console.print(
            f"[yellow]contracts rebuilt since deployment:[/] {', '.join(deployment['rebuiltSinceDeploy'])}"
            " (run `openledger deploy` to use the new code)"
        )
    if "account" in status:
        acct = status["account"]
        console.print(f"account {acct['address']} ({acct['source']})", highlight=False)
        console.print(
            f"  {acct['eth'] / 1e18:.4f} ETH, {acct['open'] / 1e18:,.4f} OPEN, "
            f"votes {acct['votes'] / 1e18:,.0f}",
            highlight=False,
        )
        console.print(
            f"  withdrawable: {acct['creditedModelRegistry'] / 1e18:,.4f} OPEN (ModelRegistry), "
            f"{acct['creditedRewardVault'] / 1e18:,.4f} OPEN (RewardVault)",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("node")(node_command)
    app.command("deploy")(deploy_command)
    app.command("status")(status_command)
