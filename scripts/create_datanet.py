"""`ape run create_datanet --name NAME --task classification --labels neg,pos --curator 0x...`: create a
Datanet (metadata on content storage, its CID on-chain with the policy and curators).

From `ape console`: `from scripts.create_datanet import create_datanet`."""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from scripts._openledger import account_options, client_for, parse_open


def create_datanet(
    client: Any,
    name: str,
    task: str,
    labels: list[str],
    curators: list[str],
    licence: str = "CC-BY-4.0",
    stake: int = 10 * 10**18,
    review_period: int = 86_400,
    slash_bps: int = 5_000,
) -> Any:
    """As `openledger datanet create`: returns the CreatedDatanet (id, metadata CID, tx)."""
    from worker.chain.types import Policy
    from worker.datanet.creating import build_metadata
    from worker.datanet.creating import create_datanet as create
    from worker.storage import open_store

    metadata = build_metadata(name=name, task=task, labels=labels, licence=licence)
    return create(client, open_store(), metadata, Policy(stake, review_period, slash_bps), curators)


@click.command(cls=ConnectedProviderCommand, short_help="Create a Datanet")
@click.option("--name", required=True, help="Short name of the dataset")
@click.option("--task", type=click.Choice(["classification", "generation"]), required=True)
@click.option("--labels", default="", help="Comma-separated labels (classification)")
@click.option("--curator", "curators", multiple=True, required=True, help="Curator address (repeat)")
@click.option("--licence", default="CC-BY-4.0", help="SPDX licence of the data")
@click.option("--stake", default="10", help="OPEN staked with each contribution")
@click.option("--review-period", default=86_400, type=int, help="Seconds curators have to review")
@click.option("--slash-bps", default=5_000, type=int, help="Share of a rejected stake slashed (bps)")
@account_options
def cli(
    provider, name, task, labels, curators, licence, stake, review_period, slash_bps, account, test_account
):
    client = client_for(provider, account, test_account)
    label_list = [x.strip() for x in labels.split(",") if x.strip()]
    created = create_datanet(
        client, name, task, label_list, list(curators), licence, parse_open(stake), review_period, slash_bps
    )
    click.echo(
        f"datanet {created.datanet_id} created by {client.address} (metadata {created.metadata_cid}, "
        f"tx {created.tx.tx_hash})"
    )
