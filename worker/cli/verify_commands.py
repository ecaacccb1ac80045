"""`openledger verify job ID` (and `verify epoch MODEL EPOCH`): recompute what was posted on-chain from
on-chain records and content alone, and say whether it matches. Exit code 1 on a mismatch, 3 when a job
differs but was computed with other library versions (no verdict): this is what a challenger runs before
putting up a bond."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from worker.cli.cli_output import attribution_progress
from worker.cli.errors import friendly_errors
from worker.cli.options import JsonOption, RpcOption

# Exit codes of `verify job`: scripts must tell "challenge it" from "rerun with the poster's versions".
EXIT_MISMATCH = 1
EXIT_CANNOT_JUDGE = 3  # 2 is typer's usage error

if TYPE_CHECKING:
    from worker.jobs.verify import JobVerification

console = Console()
verify_app = typer.Typer(name="verify", help="Recompute posted results and check them.", no_args_is_help=True)


@friendly_errors
def job_command(
    job_id: Annotated[int, typer.Argument(help="Training job id")],
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Retrain and re-attribute job JOB_ID from the chain and IPFS; compare adapter, metrics, report and
    attribution root with what its worker posted.

    Exit code 0: match. 1: mismatch (or an error). 3: cannot judge: a check differs, but the poster
    recorded other library versions (torch, transformers, peft, ...) than ours, which can change the
    bits; rerun with the poster's versions before challenging.
    """
    from worker.cli.options import connect_client
    from worker.jobs.verify import Verdict, verify_job
    from worker.storage import open_store

    client = connect_client(rpc, None, None, signing=False)
    if not as_json:
        console.print(f"recomputing job {job_id} from on-chain records and verified content...")
    with attribution_progress(enabled=not as_json) as progress:
        result = verify_job(client, open_store(), job_id, progress=progress)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        _print(result)
    if result.verdict is Verdict.MISMATCH:
        raise typer.Exit(code=EXIT_MISMATCH)
    if result.verdict is Verdict.CANNOT_JUDGE:
        raise typer.Exit(code=EXIT_CANNOT_JUDGE)


def _print(result: JobVerification) -> None:
    from worker.jobs.verify import Verdict

    differs = "[yellow]differs[/]" if result.verdict is Verdict.CANNOT_JUDGE else "[red]MISMATCH[/]"
    table = Table("check", "posted", "recomputed", "")
    for check in result.checks:
        table.add_row(check.name, check.posted, check.recomputed, "[green]ok[/]" if check.ok else differs)
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
    verdict = {
        Verdict.MATCH: "[green]MATCH[/]",
        Verdict.MISMATCH: "[red]MISMATCH[/]: challenge it with "
        f"`openledger challenge job {result.job_id} --reason '...' --evidence verify.json` "
        f"(verify.json: `openledger verify job {result.job_id} --json`)",
        Verdict.CANNOT_JUDGE: f"[yellow]{escape(result.explanation())}[/]: rerun with the poster's versions",
    }[result.verdict]
    # soft_wrap: the verdict stays on one line whatever the terminal width, for people and scripts alike
    console.print(
        f"job {result.job_id} (model {result.model_id}, worker {result.worker}): {verdict}", soft_wrap=True
    )


def register(app: typer.Typer) -> None:
    from worker.cli.rewards_commands import verify_epoch

    verify_app.command("job")(job_command)
    verify_app.command("epoch")(verify_epoch)
    app.add_typer(verify_app)
