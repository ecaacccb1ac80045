"""`python -m worker.demo` (what `make demo` runs): a fresh local Anvil, the protocol deployed on it, and
the lifecycle from Datanet to contributor payouts on real data with a real fine-tune. Re-runnable: each
run starts its own chain; content in the state directory's `ipfs/` is content-addressed and simply reused."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from worker.chain.devnet import LocalChain
from worker.config import load_settings
from worker.demo import datanet_stage, lineage_stage, rewards_stage, training_stage
from worker.demo.actors import Actors
from worker.demo.datanet_stage import PublishedDatanet
from worker.demo.journal import Journal
from worker.demo.rewards_stage import EpochPayout
from worker.demo.training_stage import LiveModel
from worker.storage import LocalStore
from worker.units import OPEN, PPM


def contributor_table(
    actors: Actors,
    published: PublishedDatanet,
    live: LiveModel,
    payout: EpochPayout,
    derived: EpochPayout | None = None,
) -> Table:
    table = Table(
        title=f"Contributors of model {live.model_id} (datanet {published.datanet_id} "
        f"v{published.version_id})"
    )
    for column in (
        "contributor",
        "address",
        "contribution",
        "status",
        "records",
        "attribution",
        "epoch earnings",
        "derived model's epoch",
    ):
        table.add_column(column, justify="right" if column in ("records", "attribution") else "left")
    registry = actors.client(actors.datanet_owner).datanets
    for index in actors.contributors:
        address = actors.client(index).address
        for cid in range(1, registry.contribution_count() + 1):
            contribution = registry.get_contribution(cid)
            if contribution.contributor != address or contribution.datanet_id != published.datanet_id:
                continue
            weight = live.weights.get(address, 0) / PPM
            flag = " [red](flagged)[/]" if address in live.flagged else ""
            table.add_row(
                actors.name(index),
                address[:10] + "…",
                f"#{cid}",
                contribution.status.name,
                str(contribution.record_count),
                f"{weight:.1%}{flag}",
                f"{payout.amounts.get(address, 0) / OPEN:.4f} OPEN",
                f"{derived.amounts.get(address, 0) / OPEN:.4f} OPEN" if derived else "-",
            )
    return table


def main() -> None:
    console, started = Console(width=None if Console().is_terminal else 140), time.monotonic()
    settings = load_settings()
    console.print(f"[bold]OpenLedger demo[/]: state under {settings.home}")
    chain = LocalChain.start(deployments_dir=settings.deployments_dir)
    try:
        console.print(
            f"Anvil at {chain.anvil.rpc_url if chain.anvil else '?'}; deployed: "
            + ", ".join(f"{name} {address[:10]}…" for name, address in chain.deployment.addresses.items())
        )
        actors, store, journal = Actors(chain), LocalStore(settings.ipfs_dir), Journal(console)
        actors.fund_everyone()
        published = datanet_stage.run(actors, store, journal)
        live = training_stage.run(actors, store, journal, published, settings.home)
        payout = rewards_stage.run(actors, store, journal, live)
        derived = lineage_stage.run(actors, store, journal, live, settings.home)
        console.rule("[bold]Summary")
        console.print(
            f"model {live.model_id}: adapter {live.adapter_cid}, attribution report {live.report_cid}"
        )
        final = live.metrics.get("final", {})
        console.print("validation: " + ", ".join(f"{k} {v:.3f}" for k, v in final.items() if k != "epoch"))
        console.print(contributor_table(actors, published, live, payout, derived))
        console.print(journal.gas_by_stage())
        console.print(
            f"epoch {payout.epoch} report {payout.report_cid}; done in {time.monotonic() - started:.0f} s"
        )
    finally:
        chain.stop()


if __name__ == "__main__":
    main()
