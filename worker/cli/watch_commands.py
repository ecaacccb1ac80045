"""`openledger watch`: a stream of decoded protocol events, reorg-safe and resumable from a named cursor;
each one printed (a line of JSON with `--json`), POSTed to a webhook (`--webhook URL`), or both. The same
stream is `worker.daemon.watch.follow(handler)` for Python programs (docs/SDK.md#events)."""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from worker.cli.cli_output import literal_errors, say, warn
from worker.cli.options import JsonOption, RpcOption

if TYPE_CHECKING:
    from worker.chain.events import DecodedEvent

SECRET_ENV = "OPENLEDGER_WEBHOOK_SECRET"


def _describe(event: DecodedEvent, chain_id: int) -> str:
    args = " ".join(f"{k}={v}" for k, v in event.to_json(chain_id)["args"].items())
    return f"block {event.block_number:>8}  {event.contract}.{event.name}  {args}  (tx {event.tx_hash[:12]}…)"


@literal_errors
def watch_command(
    events: Annotated[
        list[str] | None,
        typer.Option("--events", "-e", help="Only these events (name or Contract.Event; repeat or a,b)"),
    ] = None,
    cursor: Annotated[str, typer.Option(help="Named position: a run resumes where it stopped")] = "default",
    from_block: Annotated[
        int | None, typer.Option(help="Where a new cursor starts (default: the deployment block; 0: all)")
    ] = None,
    confirmations: Annotated[
        int | None, typer.Option(help="Blocks an event waits before delivery (default: 0 local, 3 elsewhere)")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Deliver what is there, then exit (cron)")] = False,
    webhook: Annotated[
        str | None,
        typer.Option(help=f"POST each event as JSON here (retries; HMAC-signed when ${SECRET_ENV} is set)"),
    ] = None,
    poll_seconds: Annotated[float, typer.Option(help="Seconds between polls of the chain")] = 2.0,
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print protocol events as they happen, in chain order, from a cursor that survives restarts.

    Delivery is at least once: a batch the webhook did not take is delivered again, so a receiver dedups
    by the X-OpenLedger-Event-Id header (chain, block hash, log index). After a reorg a
    `{"type": "reorg", "forkBlock": N}` line (and webhook POST) says events above block N were undone.
    """
    from worker.cli.options import connect_client
    from worker.daemon.watch import EventStream, WatchSettings, Webhook, reorg_notice

    client = connect_client(rpc, None, None, signing=False)
    chain_id = client.sender.chain_id
    names = tuple(n.strip() for item in events or [] for n in item.split(",") if n.strip())
    hook = Webhook(webhook, chain_id, secret=os.environ.get(SECRET_ENV) or None) if webhook else None

    def deliver(event: DecodedEvent) -> None:
        if hook is not None:
            hook(event)
        if as_json:
            print(json.dumps(event.to_json(chain_id), sort_keys=True), flush=True)
        else:
            say(_describe(event, chain_id))

    def reorg(fork_block: int) -> None:
        if hook is not None:
            hook.reorg(fork_block)
        if as_json:
            print(json.dumps(reorg_notice(chain_id, fork_block), sort_keys=True), flush=True)
        else:
            warn(f"chain reorganised: events above block {fork_block} were undone; replaying from there")

    settings = WatchSettings(names, cursor, confirmations, from_block, poll_seconds)
    stream = EventStream(client, deliver, settings, on_reorg=reorg)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if not as_json:
        position = stream.follower.cursor()
        start = f"block {position.block + 1}" if position else f"block {stream.follower.settings.start_block}"
        say(f"watching chain {chain_id} from {start} (cursor {cursor!r}; Ctrl-C stops, the next run resumes)")
    try:
        stream.run(stop, once=once)
    except KeyboardInterrupt:
        pass
    finally:
        stream.close()
        if hook is not None:
            hook.close()


def register(app: typer.Typer) -> None:
    app.command("watch")(watch_command)
