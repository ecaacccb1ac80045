"""`openledger explorer`: index the protocol's events and serve the explorer's pages and read API.

It holds no key: every action on its pages is signed by the visitor's own wallet in the browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from worker.cli.cli_output import literal_errors, say
from worker.cli.options import RpcOption, connect_client

if TYPE_CHECKING:
    from worker.chain.client import ChainClient
    from worker.explorer import ExplorerService

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="The index: a SQLite file (default: one per deployment under the home folder, "
        "explorer/<chainId>-<genesis>-<registry>.sqlite) or a PostgreSQL URL "
        "(postgresql://user:password@host/db, one database per deployment)",
    ),
]
InferenceOption = Annotated[
    str | None,
    typer.Option(
        "--inference-url",
        help="The paid inference API the pages' `ask` goes to (default: the endpoint the model's compute "
        "provider registered)",
    ),
]


def open_explorer(
    client: ChainClient, db: str | None, inference: str | None, confirmations: int | None = None
) -> ExplorerService:
    """The explorer on `client`'s deployment, its index at `db` (default: per deployment), indexing; an
    event is indexed after `confirmations` blocks (default: as `openledger watch`, per chain)."""
    from worker.config import load_settings
    from worker.daemon.settings import default_confirmations
    from worker.explorer import ExplorerService, IndexerSettings, default_db_path
    from worker.storage import open_store

    target: str | Path = db if db else default_db_path(client.deployment, load_settings().home)
    if confirmations is None:
        confirmations = default_confirmations(client.deployment.chain_id)
    settings = IndexerSettings(confirmations=confirmations)
    return ExplorerService.open(client, open_store(), target, settings, inference).start()


@literal_errors
def explorer_command(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8090,
    db: DbOption = None,
    inference_url: InferenceOption = None,
    confirmations: Annotated[
        int | None,
        typer.Option(
            min=0, help="Blocks an event waits before it is indexed (default: 0 on local chains, else 3)"
        ),
    ] = None,
    rpc: RpcOption = None,
) -> None:
    """Index the protocol's events and serve the explorer (Datanets, contributions, models, attribution,
    epochs, your account) with wallet actions signed in your browser."""
    from worker.explorer import create_explorer_app
    from worker.serve import serve_forever
    from worker.serve.client import local_url

    client = connect_client(rpc, None, None, signing=False)
    service = open_explorer(client, db, inference_url, confirmations)
    url = local_url(host, port)
    say(f"explorer on {url}/ (index {service.db.path}, API at /api, schema /api/openapi.json)")
    try:
        serve_forever(create_explorer_app(service), host, port)
    finally:
        service.close()


def register(app: typer.Typer) -> None:
    app.command("explorer")(explorer_command)
