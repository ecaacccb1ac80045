"""`ape run request_training --datanet ID --version V --base minilm --price 2 --bounty 500`: register a
model bound to an exact Datanet version (its training spec on content storage) and post a training job
with an escrowed bounty for workers to claim.

`ape run request_training --model ID --bounty 500`: post another job for an existing model. Only its owner,
or an account the owner approved (`openledger model approve-requester`), may: anyone else is told so
before any gas is spent.

From `ape console`: `from scripts.request_training import request_training, retrain`."""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from scripts._openledger import account_options, client_for, parse_open


def request_training(
    client: Any, datanet_id: int, version_id: int, spec: Any, price: int, bounty: int
) -> tuple[int, int]:
    """Register the model and request its training: (model id, job id)."""
    from worker.jobs.models import register_model
    from worker.storage import open_store

    model_id = register_model(client, open_store(), datanet_id, version_id, spec, price).model_id
    job_id = client.models.request_training(model_id, bounty).created_id
    return int(model_id), int(job_id)


def retrain(client: Any, model_id: int, bounty: int) -> int:
    """Post another training job for `model_id`; NotApprovedRequesterError (nothing sent) for a stranger."""
    return int(client.models.request_training(model_id, bounty).created_id)


def _new_spec(client: Any, datanet_id: int, base: str, labels: str, epochs: int) -> Any:
    from worker.jobs.models import spec_for_datanet
    from worker.storage import open_store

    label_list = tuple(x.strip() for x in labels.split(",") if x.strip())
    return spec_for_datanet(client, open_store(), datanet_id, base, label_list, epochs)


@click.command(cls=ConnectedProviderCommand, short_help="Register a model and request its training")
@click.option("--model", "model_id", type=int, default=None, help="Retrain this existing model instead")
@click.option("--datanet", "datanet_id", type=int, default=None)
@click.option("--version", "version_id", type=int, default=None)
@click.option("--base", default="minilm", help="Base model (catalogue name or local path)")
@click.option("--labels", default="", help="Comma-separated labels (default: the Datanet's)")
@click.option("--epochs", default=3, type=int)
@click.option("--price", default="2", help="OPEN per inference")
@click.option("--bounty", default="500", help="OPEN paid to the worker whose result is finalized")
@account_options
def cli(
    provider, model_id, datanet_id, version_id, base, labels, epochs, price, bounty, account, test_account
):
    from worker.errors import OpenLedgerError

    client = client_for(provider, account, test_account)
    try:
        if model_id is not None:
            job_id = retrain(client, model_id, parse_open(bounty))
            click.echo(f"training job {job_id} posted for model {model_id} with a {bounty} OPEN bounty")
            return
        if datanet_id is None or version_id is None:
            raise click.UsageError("give --datanet and --version for a new model, or --model ID to retrain")
        spec = _new_spec(client, datanet_id, base, labels, epochs)
        model_id, job_id = request_training(
            client, datanet_id, version_id, spec, parse_open(price), parse_open(bounty)
        )
    except OpenLedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"model {model_id} registered on datanet {datanet_id} v{version_id}; training job {job_id} "
        f"posted with a {bounty} OPEN bounty"
    )
