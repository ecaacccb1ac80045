"""`openledger ipfs add|cat|pin`: content on the embedded store (`$OPENLEDGER_HOME/ipfs`) or on a Kubo node
(when IPFS_API is set); CIDs are Kubo's (CIDv1, raw leaves, 256 KiB chunks, balanced DAG) and every read
is verified against its CID before it is handed over."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import click
import typer

from worker.cli.cli_output import byte_progress, emit_json, literal_errors, say
from worker.errors import StorageError

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON")]
READ_SIZE = 1 << 20

ipfs_app = typer.Typer(
    name="ipfs",
    help="Content storage: the embedded store ($OPENLEDGER_HOME/ipfs), or a Kubo node when IPFS_API is set.",
    no_args_is_help=True,
)


def _file_size(path: Path) -> int:
    try:
        if path.is_dir():
            raise StorageError(f"cannot add {path}: it is a directory, add its files one by one")
        return path.stat().st_size
    except FileNotFoundError as exc:
        raise StorageError(f"cannot add {path}: no such file") from exc


def _read_chunks(path: Path, advance: Callable[[int], None]) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_SIZE):
            yield chunk
            advance(len(chunk))


@ipfs_app.command("add")
@literal_errors
def add_command(
    file: Annotated[Path, typer.Argument(help="File to store")],
    pin: Annotated[bool, typer.Option("--pin/--no-pin", help="Keep it through garbage collection")] = True,
    as_json: JsonOption = False,
) -> None:
    """Store a file and print its CID (the same CID `ipfs add --cid-version=1` prints)."""
    from worker.storage import open_store

    size = _file_size(file)
    store = open_store()
    with byte_progress(f"adding {file.name}", size, enabled=not as_json) as advance:
        cid = store.add(_read_chunks(file, advance), pin=pin)
    if as_json:
        emit_json({"cid": cid, "size": size, "pinned": pin, "store": store.location})
        return
    say(cid)


@ipfs_app.command("cat")
@literal_errors
def cat_command(
    cid: Annotated[str, typer.Argument(help="CID of the content")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (atomically)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print (or write with -o) content, only once it hashed to its CID: a corrupt or tampered copy is
    refused with an error, never shown."""
    from worker.storage import open_store, verified_fetch, verified_fetch_to_path

    store = open_store()
    if output is None:
        if as_json:
            raise StorageError("--json reports a download: give -o FILE to write the content to")
        data = verified_fetch(store, cid)  # buffered: nothing reaches stdout before the check
        stream = click.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()
        return
    with byte_progress(f"fetching {cid[:16]}…", None, enabled=not as_json):
        path = verified_fetch_to_path(store, cid, output)
    path.chmod(0o644)  # the download went through a private temp file
    size = path.stat().st_size
    if as_json:
        emit_json({"cid": cid, "path": str(path), "size": size, "verified": True, "store": store.location})
        return
    say(f"{cid}: {size} bytes verified, written to {path}")


@ipfs_app.command("pin")
@literal_errors
def pin_command(
    cid: Annotated[str, typer.Argument(help="CID of the content to keep")],
    as_json: JsonOption = False,
) -> None:
    """Verify content against its CID, then pin it (kept through garbage collection)."""
    from worker.storage import open_store, verified_stream

    store = open_store()
    size = sum(len(chunk) for chunk in verified_stream(store, cid))
    store.pin(cid)
    if as_json:
        emit_json({"cid": cid, "size": size, "pinned": True, "verified": True, "store": store.location})
        return
    say(f"pinned {cid} ({size} bytes, verified) in the {store.location}")


def register(app: typer.Typer) -> None:
    app.add_typer(ipfs_app)
