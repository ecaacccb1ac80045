"""`openledger rewards show [ADDRESS]`, `openledger rewards claim` and `openledger rewards sweep MODEL EPOCH`:
what contributors earned per epoch and until when they can claim it, their claims (proofs built from the
epoch report on content storage, every claim checked before gas), and returning an expired epoch's
unclaimed rest to the model's pool; plus `verify_epoch`, registered as `openledger verify epoch MODEL
EPOCH` by verify_commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.cli_output import emit_json, literal_errors, open_amount, say, when
from worker.cli.options import (
    ApeAccountOption,
    DevAccountOption,
    JsonOption,
    KeystoreOption,
    RpcOption,
    wallet_client,
)

if TYPE_CHECKING:
    from worker.rewards import Entitlement

rewards_app = typer.Typer(
    name="rewards",
    help="Contributor rewards: earnings per epoch, claims with proofs, sweeping expired epochs.",
    no_args_is_help=True,
)
ModelOption = Annotated[
    list[int] | None, typer.Option("--model", help="Only this model (repeat for several)")
]


def _row(e: Entitlement) -> dict[str, Any]:
    return {
        "model": e.model_id,
        "epoch": e.epoch,
        "account": e.account,
        "amount": str(e.amount),
        "state": e.state,
        "index": e.index,
        "claimableAfter": e.deadline if e.state in ("in challenge window", "challenged") else None,
        "claimDeadline": e.deadline if e.state in ("claimable", "claimed", "expired", "swept") else None,
        "reportCid": e.report_cid,
        "problem": e.problem,
    }


def _print_entitlements(account: str, rows: list[Entitlement]) -> None:
    if not rows:
        say(f"{account} has no rewards in any posted epoch")
        return
    say(f"rewards of {account}:", "bold")
    for e in rows:
        note = f": {e.problem}" if e.problem else ""
        say(f"  model {e.model_id} epoch {e.epoch}: {open_amount(e.amount):>16}  {e.state}{_when(e)}{note}")
    claimable = sum(e.amount for e in rows if e.state == "claimable")
    say(f"claimable now: {open_amount(claimable)} (`openledger rewards claim`)")


def _when(e: Entitlement) -> str:
    """The deadline that matters for the row's state, in chain time."""
    if e.state == "in challenge window":
        return f" (claimable after {when(e.deadline, e.now)})"
    if e.state == "claimable":
        return f" (claim by {when(e.deadline, e.now)})"
    if e.state == "expired":
        return (
            f" (the claim period ended {when(e.deadline, e.now)}; unclaimed amounts go back to the pool)"
        )
    return ""


@rewards_app.command("show")
@literal_errors
def show_command(
    address: Annotated[str | None, typer.Argument(help="Account (default: your account)")] = None,
    model: ModelOption = None,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    ape_account: ApeAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every posted epoch that pays ADDRESS: amount, state (in challenge window, claimable, claimed,
    expired) and the deadline that matters (claimable after / claim by)."""
    from worker.cli.options import connect_client
    from worker.datanet.creating import checked_address
    from worker.rewards import entitlements
    from worker.storage import open_store

    if address is None:
        account = wallet_client(rpc, keystore, dev_account, ape_account).address
    else:
        account = checked_address(address, "address")
    client = connect_client(rpc, None, None, signing=False)
    rows = entitlements(client, open_store(), account, model)
    if as_json:
        emit_json({"account": account, "rewards": [_row(e) for e in rows]})
    else:
        _print_entitlements(account, rows)


@rewards_app.command("claim")
@literal_errors
def claim_command(
    model: ModelOption = None,
    epoch: Annotated[int | None, typer.Option(help="Only this epoch (requires --model)")] = None,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    ape_account: ApeAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Claim everything your account can claim now (or one epoch), with proofs from the epoch reports.
    Nothing is sent for an epoch already claimed, still in its window, or whose proof does not match."""
    from worker.errors import OpenLedgerError
    from worker.rewards import claim, claimable_targets
    from worker.storage import open_store

    if epoch is not None and (not model or len(model) != 1):
        raise typer.BadParameter("--epoch needs exactly one --model", param_hint="--epoch")
    client, store = wallet_client(rpc, keystore, dev_account, ape_account), open_store()
    if epoch is not None:
        targets = [(model[0], epoch)]  # type: ignore[index]
    else:
        targets = claimable_targets(client, store, model)
        if not targets:
            raise OpenLedgerError(
                f"{client.address} has nothing to claim now (see `openledger rewards show`)"
            )
    claimed = []
    for model_id, number in targets:
        tx = claim(client, store, model_id, number)
        amount = int(tx.event("Claimed")["amount"])
        claimed.append({"model": model_id, "epoch": number, "amount": str(amount), "tx": tx.tx_hash})
        if not as_json:
            say(
                f"claimed {open_amount(amount)} from model {model_id} epoch {number} (tx {tx.tx_hash}, "
                f"gas {tx.gas_used:,})"
            )
    if as_json:
        emit_json({"account": client.address, "claimed": claimed})


@rewards_app.command("sweep")
@literal_errors
def sweep_command(
    model_id: Annotated[int, typer.Argument(help="On-chain model id")],
    epoch: Annotated[int, typer.Argument(help="Epoch number (0, 1, ...)")],
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    ape_account: ApeAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Return the unclaimed rest of an epoch whose claim period ended to the model's pool, where it pays
    later epochs (anyone may; checked before gas)."""
    from worker.rewards import sweep

    client = wallet_client(rpc, keystore, dev_account, ape_account)
    tx = sweep(client, model_id, epoch)
    unclaimed = int(tx.event("EpochSwept")["unclaimed"])
    if as_json:
        emit_json({"model": model_id, "epoch": epoch, "unclaimed": str(unclaimed), "tx": tx.tx_hash})
    else:
        say(
            f"swept epoch {epoch} of model {model_id}: {open_amount(unclaimed)} back to the pool "
            f"(tx {tx.tx_hash}, gas {tx.gas_used:,})"
        )


@literal_errors
def verify_epoch(
    model_id: int = typer.Argument(..., help="On-chain model id"),
    epoch: int = typer.Argument(..., help="Epoch number (0, 1, ...)"),
    rpc: RpcOption = None,
    json_out: bool = typer.Option(False, "--json", help="Print machine-readable JSON"),
) -> None:
    """Recompute a posted epoch from the receipts in its report (every signature checked, every payment
    read from the chain) and compare root and total with what was posted; exit 1 on a mismatch."""
    from worker.cli.options import connect_client
    from worker.rewards import verify_epoch as recompute
    from worker.storage import open_store

    result = recompute(connect_client(rpc, None, None, signing=False), open_store(), model_id, epoch)
    if json_out:
        emit_json(result.to_dict())
    else:
        verdict = "match" if result.ok else "MISMATCH"
        say(f"epoch {epoch} of model {model_id}: {verdict}", "bold green" if result.ok else "bold red")
        say(
            f"  report {result.report_cid}: {result.receipts} receipt(s), "
            f"{result.contributors} contributor(s)"
        )
        say(f"  on-chain   root {result.onchain_root} total {result.onchain_total}")
        say(f"  recomputed root {result.root or '-'} total {result.total}")
        for problem in result.problems:
            say(f"  problem: {problem}", "red")
        if not result.ok:
            say(
                f"  challenge it with `openledger challenge epoch {model_id} {epoch} --reason '...'` "
                "within its challenge window"
            )
    if not result.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(rewards_app)
