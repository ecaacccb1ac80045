"""`openledger node`, `openledger deploy`, `openledger status`: a local chain, the protocol on it, and a look.
Also the account options every signing command shares (keystore, ape account, dev account).

web3 and the chain package are imported inside the commands so that `openledger --help` stays fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.errors import friendly_errors

if TYPE_CHECKING:
    from web3 import Web3

    from worker.chain.accounts import Signer
    from worker.chain.client import ChainClient

console = Console()
ANVIL_CHAIN_ID = 31337

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
    from worker.cli.datanet_commands import connect_client
    from worker.errors import ChainError

    if ape_account is not None:
        if keystore is not None:
            raise ChainError("give either --keystore or --ape-account, not both")
        keystore = ape_keyfile(ape_account)
    return connect_client(rpc, keystore, dev_account, signing=True)


def _connect(rpc: str | None) -> Web3:
    from worker.chain.connection import connect
    from worker.config import load_settings

    return connect(rpc or load_settings().rpc_url)


def _signer(w3: Web3, keystore: Path | None, dev_account: int | None, required: bool) -> Signer | None:
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


@friendly_errors
def node_command(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8545,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    accounts: Annotated[int, typer.Option(help="Number of funded dev accounts")] = 20,
    block_time: Annotated[int | None, typer.Option(help="Seconds per block (default: one per tx)")] = None,
    deploy: Annotated[bool, typer.Option("--deploy", help="Deploy the protocol once the node is up")] = False,
) -> None:
    """Run a local Anvil chain in the foreground (Ctrl-C stops it)."""
    from worker.chain.anvil import Anvil, AnvilConfig

    anvil = Anvil(AnvilConfig(host=host, port=port, accounts=accounts, block_time=block_time))
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


def _deploy(
    rpc: str | None, keystore: Path | None, dev_account: int | None, keep_admin: bool, profile: str
) -> Any:
    import dataclasses

    from worker.chain.deployment import DeploymentConfig, deploy_system

    w3 = _connect(rpc)
    signer = _signer(w3, keystore, dev_account, required=True)
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
        print(json.dumps({**deployment.to_json(), "path": str(deployment.path)}, indent=2))
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

    w3 = _connect(rpc)
    out: dict[str, Any] = {
        "rpc": w3.provider.endpoint_uri,
        "chainId": int(w3.eth.chain_id),  # type: ignore[attr-defined]
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
    signer = _signer(w3, keystore, dev_account, required=False)
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


@friendly_errors
def status_command(
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Chain id, head block, the recorded deployment and the active account's balances."""
    status = _status(rpc, keystore, dev_account)
    if as_json:
        print(json.dumps(status, indent=2))
        return
    console.print(f"chain {status['chainId']} at {status['rpc']}, head block {status['headBlock']}")
    deployment = status["deployment"]
    if "error" in deployment:
        console.print(f"[yellow]deployment:[/] {deployment['error']}")
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
