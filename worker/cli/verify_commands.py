"""`openledger verify job ID` (and `verify epoch MODEL EPOCH`): recompute what was posted on-chain from
on-chain records and content alone, and say whether it matches. Exit code 1 on a mismatch: this is what
a challenger runs before putting up a bond."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.chain_commands import JsonOption, RpcOption
from worker.cli.errors import friendly_errors

console = Console()
verify_app = typer.Typer(name="verify", help="Recompute posted results and check them.", no_args_is_help=True)


@friendly_errors
def job_command(
    job_id: Annotated[int, typer.Argument(help="Training job id")],
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Retrain and re-attribute job JOB_ID from the chain and IPFS; compare adapter, metrics, report and
    attribution root with what its worker posted."""
    from worker.cli.datanet_commands import connect_client
    from worker.jobs.verify import verify_job
    from worker.storage import open_store

    client = connect_client(rpc, None, None, signing=False)
    if not as_json:
        console.print(f"recomputing job {job_id} from on-chain records and verified content...")
    result = verify_job(client, open_store(), job_id)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        _print(result)
    if not result.ok:
        raise typer.Exit(code=1)


def _print(result) -> None:
    table = Table("check", "posted", "recomputed", "")
    for check in result.checks:
        table.add_row(
            check.name, check.posted, check.recomputed, "[green]ok[/]" if check.ok else "[red]MISMATCH[/]"
        )
    console.print(table)
    for name in result.differing_files:
        console.print(f"  differs: {name}", highlight=False)
    for name, pair in result.argument_differences.items():
        console.print(
            f"  attribution argument {name}: posted {pair['poster']} (used), our default {pair['verifier']}",
            highlight=False,
        )
    for name, pair in sorted(result.version_differences.items()):
        console.print(
            f"  library {name}: poster {pair['poster']}, verifier {pair['verifier']}", highlight=False
        )
    verdict = (
        "[green]MATCH[/]"
        if result.ok
        else "[red]MISMATCH[/]: challenge it with `openledger` / ModelRegistry.challengeResult"
    )
    console.print(f"job {result.job_id} (model {result.model_id}, worker {result.worker}): {verdict}")


def register(app: typer.Typer) -> None:
    from worker.cli.rewards_commands import verify_epoch

    verify_app.command("job")(job_command)
    verify_app.command("epoch")(verify_epoch)
    app.add_typer(verify_app)
