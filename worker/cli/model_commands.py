"""`openledger model register|show|list|approve-requester|request-training|activate`: a model bound to
an exact Datanet version and a training spec, and what it became. A model changes only with its owner's
consent: the owner decides who may post training jobs for it and which finalized result goes live; a
retrained result never replaces the live adapter and provider on its own.

Each command checks on the chain first what the contract would refuse (not the owner, not approved, a job
that is not finalized, a version that does not exist) and says so before any gas is spent.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.cli_output import emit_json, literal_errors, open_amount, say, warn
from worker.cli.job_commands import job_view, print_timeline
from worker.cli.options import DevAccountOption, JsonOption, KeystoreOption, RpcOption

if TYPE_CHECKING:
    from worker.chain.client import ChainClient
    from worker.chain.types import Model
    from worker.storage import ContentStore

model_app = typer.Typer(
    name="model",
    help="Models: register one, look at them, who may request training, posting a job, which result is live.",
    no_args_is_help=True,
)
ModelArgument = Annotated[int, typer.Argument(help="Model id")]


def _owned_model(client: ChainClient, model_id: int) -> Model:
    """The model, if the client's account owns it (else a ChainError before anything is sent)."""
    from worker.errors import ChainError

    model = client.models.require_model(model_id)
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


@model_app.command("register")
@literal_errors
def register_command(
    datanet_id: Annotated[int, typer.Argument(help="Datanet id")],
    version: Annotated[int, typer.Argument(help="Published version the model trains on (1, 2, ...)")],
    base: Annotated[
        str, typer.Option(help="Base model: minilm, smollm2-135m or a local directory")
    ] = "minilm",
    price: Annotated[str, typer.Option(help="OPEN per inference")] = "2",
    labels: Annotated[str, typer.Option(help="Comma-separated labels (default: the Datanet's)")] = "",
    epochs: Annotated[int, typer.Option(help="Passes over the training records")] = 3,
    spec_file: Annotated[
        Path | None, typer.Option("--spec", help="TrainingSpec JSON (instead of --base/--labels/--epochs)")
    ] = None,
    bounty: Annotated[
        str | None, typer.Option(help="Also post the first training job with this bounty (OPEN)")
    ] = None,
    parent: Annotated[
        int | None,
        typer.Option(
            help="Fine-tune from this live model: training starts from its adapter and epochs pass the "
            "lineage share to its contributors (default spec: the parent's, with --epochs)"
        ),
    ] = None,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a model bound to DATANET_ID version VERSION: its training spec (from the Datanet's task and
    labels, or --spec) is uploaded and its CID goes on-chain with the base model and price. You own it.
    With --parent, the model is registered as fine-tuned from that model (lineage payouts)."""
    from worker.cli.options import connect_client, parse_open
    from worker.jobs.models import derived_spec, register_derived_model, register_model, spec_for_datanet
    from worker.storage import open_store
    from worker.train import TrainingSpec

    amount = parse_open(price, "--price")
    first_bounty = parse_open(bounty, "--bounty") if bounty is not None else None
    client, store = connect_client(rpc, keystore, dev_account, signing=True), open_store()
    if spec_file is not None:
        spec = TrainingSpec.from_json(spec_file.read_text())
    elif parent is not None:
        spec = derived_spec(client, store, parent).replace(epochs=epochs)
    else:
        label_list = tuple(x.strip() for x in labels.split(",") if x.strip())
        spec = spec_for_datanet(client, store, datanet_id, base, label_list, epochs)
    if parent is not None:
        spec = derived_spec(client, store, parent, spec)
        registered = register_derived_model(client, store, datanet_id, version, spec, amount, parent)
    else:
        registered = register_model(client, store, datanet_id, version, spec, amount)
    job = client.models.request_training(registered.model_id, first_bounty) if first_bounty else None
    if as_json:
        emit_json(
            {
                "model_id": registered.model_id,
                "datanet_id": datanet_id,
                "version_id": version,
                "base_model": spec.base_model,
                "spec_cid": registered.spec_cid,
                "price_per_inference": str(amount),
                "job_id": job.created_id if job else None,
                "parent_model_id": parent,
                "start_from": spec.start_from or None,
                "tx_hash": registered.tx.tx_hash,
            }
        )
        return
    say(f"model {registered.model_id} registered on datanet {datanet_id} v{version}", "green")
    say(f"  base {spec.base_model}, spec {registered.spec_cid}, {open_amount(amount)} per inference")
    if parent is not None:
        say(f"  fine-tuned from model {parent} (starts from adapter {spec.start_from})")
    if job is not None:
        say(f"  training job {job.created_id} posted ({open_amount(first_bounty or 0)} bounty)")
    else:
        say(
            f"  post a training job with: "
            f"openledger model request-training {registered.model_id} --bounty 500"
        )


def _metrics_of(
    client: ChainClient, store: ContentStore, model: Model, jobs: list[dict[str, Any]]
) -> dict[str, Any]:
    """The metrics.json of the live result, else of the latest finalized one (verified from storage)."""
    from worker.errors import OpenLedgerError
    from worker.jobs.models import result_metrics, validation_accuracy

    finalized = [j for j in jobs if j["status"] == "finalized" and j["result"]]
    chosen = next((j for j in finalized if j["job_id"] == model.live_job_id), None)
    chosen = chosen or (finalized[-1] if finalized else None)
    if chosen is None:
        return {"job_id": None, "metrics": None, "validation_accuracy": None, "error": None}
    try:
        metrics: dict[str, Any] | None = result_metrics(store, chosen["result"]["metrics_cid"])
    except OpenLedgerError as exc:
        return {"job_id": chosen["job_id"], "metrics": None, "validation_accuracy": None, "error": str(exc)}
    accuracy = validation_accuracy(metrics) if metrics else None
    return {"job_id": chosen["job_id"], "metrics": metrics, "validation_accuracy": accuracy, "error": None}


def _model_view(client: ChainClient, store: ContentStore, model_id: int) -> dict[str, Any]:
    model = client.models.require_model(model_id)
    jobs = [job_view(client, job_id) for job_id in client.models.job_ids_of(model_id)]
    return {
        "model_id": model_id,
        "owner": model.owner,
        "datanet_id": model.datanet_id,
        "version_id": model.version_id,
        "base_model": model.base_model,
        "training_spec_cid": model.training_spec_cid,
        "price_per_inference": str(model.price_per_inference),
        "live": client.models.is_live(model_id),
        "live_job_id": model.live_job_id or None,
        "compute_provider": model.compute_provider if model.live_job_id else None,
        "adapter_cid": model.adapter_cid or None,
        "jobs": jobs,
        "metrics": _metrics_of(client, store, model, jobs),
    }


def _print_model(view: dict[str, Any]) -> None:
    from worker.jobs.models import WEAK_ACCURACY

    live = "live" if view["live"] else "not live"
    say(
        f"model {view['model_id']}: {view['base_model']} on datanet {view['datanet_id']} "
        f"v{view['version_id']}, {live}",
        "bold",
    )
    say(
        f"  owner {view['owner']}; {open_amount(int(view['price_per_inference']))} per inference; "
        f"spec {view['training_spec_cid']}"
    )
    if view["live_job_id"]:
        say(
            f"  serves job {view['live_job_id']}'s adapter {view['adapter_cid']} "
            f"(compute provider {view['compute_provider']})"
        )
    metrics = view["metrics"]
    if metrics["error"]:
        warn(f"metrics of job {metrics['job_id']}: {metrics['error']}")
    elif metrics["metrics"]:
        final = metrics["metrics"].get("final", {})
        figures = ", ".join(f"{k} {v:.4f}" for k, v in sorted(final.items()) if k != "epoch")
        say(
            f"  metrics (job {metrics['job_id']}): {figures or 'none recorded'}; "
            f"{metrics['metrics'].get('train_records')} train / "
            f"{metrics['metrics'].get('validation_records')} validation records"
        )
        accuracy = metrics["validation_accuracy"]
        if accuracy is not None and accuracy < WEAK_ACCURACY:
            warn(f"validation accuracy {accuracy:.2f} is below {WEAK_ACCURACY}: a weak model")
    say(f"  training jobs ({len(view['jobs'])}):")
    for job in view["jobs"]:
        worker = f", worker {job['worker']}" if job["worker"] else ""
        say(f"    job {job['job_id']}: {job['status']}{worker}")
        print_timeline(job, indent="      ")


@model_app.command("show")
@literal_errors
def show_command(
    model_id: ModelArgument,
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """A model: base model, Datanet version, price, live or not, its training jobs' timelines and the
    metrics of its finalized result (verified from content storage)."""
    from worker.cli.options import connect_client
    from worker.storage import open_store

    view = _model_view(connect_client(rpc, None, None, signing=False), open_store(), model_id)
    if as_json:
        emit_json(view)
    else:
        _print_model(view)


@model_app.command("list")
@literal_errors
def list_command(rpc: RpcOption = None, as_json: JsonOption = False) -> None:
    """Every model of the deployment: base model, Datanet version, price, live or not."""
    from worker.cli.options import connect_client

    client, rows = connect_client(rpc, None, None, signing=False), list[dict[str, Any]]()
    for model_id in range(1, client.models.model_count() + 1):
        model = client.models.get_model(model_id)
        rows.append(
            {
                "model_id": model_id,
                "owner": model.owner,
                "base_model": model.base_model,
                "datanet_id": model.datanet_id,
                "version_id": model.version_id,
                "price_per_inference": str(model.price_per_inference),
                "live": client.models.is_live(model_id),
                "live_job_id": model.live_job_id or None,
            }
        )
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say("no model yet: register one with `openledger model register DATANET VERSION`")
    for row in rows:
        live = f"live (job {row['live_job_id']})" if row["live"] else "not live"
        say(
            f"{row['model_id']:>4}  {row['base_model']:<16} "
            f"datanet {row['datanet_id']} v{row['version_id']}  "
            f"{open_amount(int(row['price_per_inference']))}/inference  {live}  owner {row['owner']}"
        )


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


def _weakness(metrics_cid: str, min_accuracy: float) -> str:
    """Why the result looks too weak to go live ("" when it does not), from its verified metrics.json."""
    from worker.errors import OpenLedgerError
    from worker.jobs.models import result_metrics, validation_accuracy
    from worker.storage import open_store

    try:
        accuracy = validation_accuracy(result_metrics(open_store(), metrics_cid))
    except OpenLedgerError as exc:
        return f"the result's metrics could not be checked ({exc}): it goes live unchecked"
    if accuracy is None or accuracy >= min_accuracy:
        return ""
    return (
        f"this result's validation accuracy is {accuracy:.2f}, below {min_accuracy:g}: a weak model is "
        "about to go live (retrain with `openledger model request-training`, or raise the data quality)"
    )


@model_app.command("activate")
@literal_errors
def activate_command(
    job_id: Annotated[int, typer.Argument(help="Finalized training job whose result should go live")],
    min_accuracy: Annotated[
        float, typer.Option(help="Warn when the result's validation accuracy is below this")
    ] = 0.6,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make finalized job JOB_ID its model's live adapter, served by the worker that trained it (owner).
    A result whose validation accuracy (its metrics.json) is below --min-accuracy gets a warning first."""
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
    weak = _weakness(job.result.metrics_cid, min_accuracy)
    if weak:
        warn(weak)
    live = client.models.activate_result(job_id).event("ModelLive")
    if as_json:
        emit_json(
            {
                "model_id": job.model_id,
                "job_id": job_id,
                "warning": weak or None,
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
