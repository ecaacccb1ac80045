"""`ape run contribute --datanet ID FILE`: validate a JSON Lines file against the Datanet's schema, check
it against the accepted records for duplicates, upload it and submit its CID with the stake.

From `ape console`: `from scripts.contribute import contribute`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from scripts._openledger import account_options, client_for


def contribute(client: Any, datanet_id: int, path: Path, permit: bool = False) -> Any:
    """As `openledger contribute`: returns the SubmittedContribution (id, CID, tx)."""
    from worker.datanet.contributing import check_submittable, prepare_contribution, upload_and_submit
    from worker.storage import open_store

    store = open_store()
    prepared = prepare_contribution(client, store, datanet_id, path)
    check_submittable(client, prepared)
    return upload_and_submit(client, store, prepared, permit=permit)


@click.command(cls=ConnectedProviderCommand, short_help="Contribute a file of records to a Datanet")
@click.option("--datanet", "datanet_id", type=int, required=True, help="Datanet id")
@click.option("--permit", is_flag=True, help="Pay the stake with an EIP-2612 permit (no approve tx)")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@account_options
def cli(provider, datanet_id, permit, path, account, test_account):
    client = client_for(provider, account, test_account)
    submitted = contribute(client, datanet_id, path, permit)
    click.echo(
        f"contribution {submitted.contribution_id} to datanet {datanet_id}: {submitted.record_count} "
        f"records, {submitted.cid} (tx {submitted.tx.tx_hash})"
    )
