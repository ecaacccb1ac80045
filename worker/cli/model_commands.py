"""`openledger model approve-requester|request-training|activate`: a model changes only with its owner's
consent. The owner decides who may post training jobs for it and which finalized result goes live; a
retrained result never replaces the live adapter and provider on its own.

Each command checks on the chain first what the contract would refuse (not the owner, not approved, a job
that is not finalized) and says so before any gas is spent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from worker.cli.cli_output import emit_json, literal_errors, open_amount, say
from worker.cli.options import DevAccountOption, JsonOption, KeystoreOption, RpcOption

if TYPE_CHECKING:
    from worker.chain.client import ChainClient
    from worker.chain.types import Model

model_app = typer.Typer(
    name="model",
    help="Models: who may request training, posting a job, which result is live.",
    no_args_is_help=True,
)
ModelArgument = Annotated[int, typer.Argument(help="Model id")]


def _owned_model(client: ChainClient, model_id: int) -> Model:
    """The model, if the client's account owns it (else a ChainError before anything is sent)."""
    from worker.errors import ChainError

    count = client.models.model_count()
    if not 1 <= model_id <= count:
        raise ChainError(f"model {model_id} does not exist (this deployment has {count} model(s))")
    model = client.models.get_model(model_id)
    if model.owner != client.address:
        raise ChainError(
            f"account {client.address} does not own model {model_id} (owner {model.owner}): only the "
            "owner decides this; nothing was sent"
        )
    return model


def _address(text: str) -> str:
    from eth_utils.address import is_address, to_checksum_address

    if not is_address(text):
        raise typer.BadParameter(f"{text!r} is not an Ethereum address", param_hint="ADDRESS")
    return to_checksum_address(text)


@model_app.command("approve-requester")
@literal_errors
def approve_requester_command(
    model_id: ModelArgument,
    address: Annotated[str, typer.Argument(help="Account allowed to request training for the model")],
    revoke: Annotated[bool, typer.Option("--revoke", help="Withdraw the approval instead")] = False,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Let ADDRESS request training for MODEL_ID (model owner), or stop it with --revoke."""
    from worker.cli.options import connect_client

    account = _address(address)
    client = connect_client(rpc, keystore, dev_account, signing=True)
    _owned_model(client, model_id)
    tx = client.models.set_requester(model_id, account, not revoke)
    if as_json:
        emit_json({"model_id": model_id, "account": account, "approved": not revoke, "tx_hash": tx.tx_hash})
        return
    verb = "may no longer" if revoke else "may now"
    say(f"{account} {verb} request training for model {model_id}", "green")


@model_app.command("request-training")
@literal_errors
def request_training_command(
    model_id: ModelArgument,
    bounty: Annotated[str, typer.Option(help="OPEN paid to the worker whose result is finalized")],
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Post a training job for MODEL_ID with an escrowed bounty (its owner or an approved requester)."""
    from worker.cli.options import connect_client, parse_open

    amount = parse_open(bounty, "--bounty")
    client = connect_client(rpc, keystore, dev_account, signing=True)
    tx = client.models.request_training(model_id, amount)  # refuses a stranger before any gas
    if as_json:
        emit_json(
            {"model_id": model_id, "job_id": tx.created_id, "bounty": str(amount), "tx_hash": tx.tx_hash}
        )
        return
    say(f"training job {tx.created_id} posted for model {model_id} ({open_amount(amount)} bounty)", "green")


@model_app.command("activate")
@literal_errors
def activate_command(
    job_id: Annotated[int, typer.Argument(help="Finalized training job whose result should go live")],
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make finalized job JOB_ID its model's live adapter, served by the worker that trained it (owner)."""
    from worker.chain.types import JobStatus
    from worker.cli.options import connect_client
    from worker.errors import ChainError

    client = connect_client(rpc, keystore, dev_account, signing=True)
    job = client.models.get_job(job_id)
    model = _owned_model(client, job.model_id)
    if job.status != JobStatus.FINALIZED:
        raise ChainError(
            f"job {job_id} is {job.status.name.lower()}, not finalized: only a result that passed its "
            "challenge window can go live; nothing was sent"
        )
    if model.live_job_id == job_id:
        raise ChainError(f"job {job_id} is already the live result of model {job.model_id}; nothing was sent")
    live = client.models.activate_result(job_id).event("ModelLive")
    if as_json:
        emit_json(
            {
                "model_id": job.model_id,
                "job_id": job_id,
                "compute_provider": live["computeProvider"],
                "adapter_cid": live["adapterCid"],
                "tx_hash": live.tx_hash,
            }
        )
        return
    say(f"model {job.model_id} now serves job {job_id}'s adapter {live['adapterCid']}", "green")
    say(f"  compute provider {live['computeProvider']} (was {model.compute_provider})")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app)
