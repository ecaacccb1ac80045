"""`openledger worker run` and `openledger worker status`: the daemon that turns training requests into
posted, finalized results (and curates Datanets that opt in), and a look at its state."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.errors import friendly_errors
from worker.cli.options import DevAccountOption, JsonOption, KeystoreOption, RpcOption

if TYPE_CHECKING:
    from worker.chain.client import ChainClient
    from worker.daemon import WorkerSettings
    from worker.daemon.status import WorkerStatus

console = Console()
worker_app = typer.Typer(
    name="worker", help="Run the worker daemon, or look at its state.", no_args_is_help=True
)


def _home(client: ChainClient) -> Path:
    from worker.config import load_settings
    from worker.daemon import worker_home

    return worker_home(load_settings().home, client)


def _settings(client: ChainClient, **options: Any) -> WorkerSettings:
    from worker.daemon import FollowerSettings, WorkerSettings, default_confirmations

    confirmations = options.pop("confirmations")
    follower = FollowerSettings(
        confirmations=default_confirmations(client.sender.chain_id)
        if confirmations is None
        else confirmations,
        max_range=options.pop("max_range"),
        window=options.pop("window"),
        start_block=options.pop("start_block"),
    )
    return WorkerSettings(home=_home(client), follower=follower, **options)


@friendly_errors
def run_command(
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    confirmations: Annotated[
        int | None, typer.Option(help="Blocks a log must be under the head (default: 0 on Anvil, else 3)")
    ] = None,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between polls when idle")] = 1.0,
    max_wait: Annotated[float, typer.Option(help="Longest sleep before re-checking a chain deadline")] = 30.0,
    max_range: Annotated[int, typer.Option("--range", help="Blocks per eth_getLogs request")] = 2_000,
    window: Annotated[int, typer.Option(help="Recent block hashes kept to detect reorgs")] = 256,
    start_block: Annotated[int, typer.Option(help="First block to follow on a fresh state")] = 0,
    stake: Annotated[float, typer.Option(help="OPEN to stake if the account is not a worker yet")] = 1_000.0,
    endpoint: Annotated[
        str, typer.Option(help="Inference endpoint recorded on registration")
    ] = "http://127.0.0.1:8000",
    base_model: Annotated[
        list[str] | None, typer.Option("--base-model", help="Base models to train (repeat)")
    ] = None,
    allow_local_models: Annotated[
        bool, typer.Option(help="Also train jobs whose base model is a local directory")
    ] = False,
    auto_review: Annotated[
        list[int] | None, typer.Option("--auto-review", help="Datanet id to curate (repeat)")
    ] = None,
    finalize: Annotated[bool, typer.Option(help="Finalize own results after the challenge window")] = True,
    min_accuracy: Annotated[
        float | None,
        typer.Option(help="Refuse to post a result whose validation accuracy is below this (e.g. 0.6)"),
    ] = None,
    exit_when_idle: Annotated[bool, typer.Option(help="Stop once caught up with nothing runnable")] = False,
    json_logs: Annotated[bool, typer.Option("--json-logs", help="JSON log lines on stderr")] = False,
    progress: Annotated[bool, typer.Option(help="Training progress bars")] = False,
) -> None:
    """Follow the chain and work: claim training jobs this worker can serve, train, attribute, post the
    result (unless its validation accuracy is below --min-accuracy), finalize after the window; with
    --auto-review, curate new contributions. Ctrl-C stops it;
    run it again to resume exactly where it was (state in $OPENLEDGER_HOME/worker/)."""
    from worker.cli.options import connect_client
    from worker.daemon import WorkerDaemon
    from worker.daemon.logs import configure_logging
    from worker.storage import open_store

    if min_accuracy is not None and not 0.0 <= min_accuracy <= 1.0:
        raise typer.BadParameter("an accuracy between 0 and 1, e.g. 0.6", param_hint="--min-accuracy")
    client = connect_client(rpc, keystore, dev_account, signing=True)
    settings = _settings(
        client,
        confirmations=confirmations,
        max_range=max_range,
        window=window,
        start_block=start_block,
        poll_interval=poll,
        max_wait=max_wait,
        stake=int(stake * 10**18),
        endpoint=endpoint,
        base_models=tuple(base_model) if base_model else ("minilm", "smollm2-135m"),
        allow_local_models=allow_local_models,
        auto_review=tuple(auto_review or ()),
        finalize=finalize,
        min_accuracy=min_accuracy,
        progress=progress,
    )
    configure_logging(settings.log_path, json_stderr=json_logs)
    daemon = WorkerDaemon.open(client, open_store(), settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(
        f"worker {client.address} on chain {client.sender.chain_id}; state {settings.db_path}; "
        f"{settings.follower.confirmations} confirmation(s)",
        highlight=False,
    )
    idle = (lambda: daemon.idle()) if exit_when_idle else None
    try:
        daemon.run(stop=stop, until=idle)
    except KeyboardInterrupt:
        console.print("stopped; run again to resume")


@friendly_errors
def status_command(
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cursor, lag to the chain head, jobs by state and the last errors of this account's worker."""
    from worker.cli.options import connect_client
    from worker.daemon.db import Database
    from worker.daemon.status import worker_status
    from worker.errors import ConfigError

    client = connect_client(rpc, keystore, dev_account, signing=True)
    path = _home(client) / "state.sqlite"
    if not path.is_file():
        raise ConfigError(
            f"no worker state for {client.address} on this chain ({path}): start `openledger worker run`"
        )
    status = worker_status(Database(path), int(client.w3.eth.block_number))
    if as_json:
        print(json.dumps(status.to_dict(), indent=2))
        return
    _print_status(status)


def _print_status(status: WorkerStatus) -> None:
    console.print(
        f"worker {status.worker} chain {status.chain_id}: cursor {status.cursor}, head {status.head}, "
        f"lag {status.lag} block(s); {status.events_indexed} events indexed; "
        f"{status.unsettled_transactions} unsettled transaction(s)",
        highlight=False,
    )
    console.print(
        "jobs by state: "
        + (", ".join(f"{k} {v}" for k, v in sorted(status.tasks_by_state.items())) or "none")
    )
    table = Table("task", "state", "stage", "attempts", "timings (s)", "adapter")
    for task in status.tasks:
        timings = " ".join(f"{k} {v:.1f}" for k, v in task["timings"].items())
        table.add_row(
            task["id"],
            task["state"],
            task["stage"],
            str(task["attempts"]),
            timings,
            task["adapter_cid"] or "",
        )
    if status.tasks:
        console.print(table)
    for error in status.last_errors:
        console.print(f"[red]{error['id']}[/] ({error['state']}): {error['error']}", highlight=False)


def register(app: typer.Typer) -> None:
    worker_app.command("run")(run_command)
    worker_app.command("status")(status_command)
    app.add_typer(worker_app)
