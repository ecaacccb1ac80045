"""`ape run claim [--model ID]`: claim every finalized epoch reward of the account, with proofs built from
the epoch reports (nothing is sent for an epoch already claimed or still in its challenge window).

From `ape console`: `from scripts.claim import claim_all`."""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from scripts._openledger import account_options, client_for


def claim_all(client: Any, model_ids: list[int] | None = None) -> list[tuple[int, int, int]]:
    """Claim everything claimable now: [(model, epoch, amount)]."""
    from worker.rewards import claim, claimable_targets
    from worker.storage import open_store

    store = open_store()
    done = []
    for model_id, epoch in claimable_targets(client, store, model_ids):
        tx = claim(client, store, model_id, epoch)
        done.append((model_id, epoch, int(tx.event("Claimed")["amount"])))
    return done


@click.command(cls=ConnectedProviderCommand, short_help="Claim contributor rewards")
@click.option("--model", "models", type=int, multiple=True, help="Only this model (repeat)")
@account_options
def cli(provider, models, account, test_account):
    client = client_for(provider, account, test_account)
    done = claim_all(client, list(models) or None)
    if not done:
        click.echo(f"{client.address} has nothing to claim now")
    for model_id, epoch, amount in done:
        click.echo(f"claimed {amount / 10**18:.6f} OPEN from model {model_id} epoch {epoch}")
