"""Output helpers of the storage and Datanet commands: literal text (never rich markup), JSON for scripts,
byte progress bars on stderr, and errors printed whole.

Messages carry user data and error codes in brackets (`line 3: ... [unknown_label]`, `['a', 'b']`), which
rich would read as markup and silently drop, so everything variable is escaped here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from worker.cli.errors import friendly_errors
from worker.units import OPEN

P = ParamSpec("P")
R = TypeVar("R")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def say(text: str, style: str | None = None) -> None:
    """Print `text` literally (brackets and all), optionally in one style."""
    console.print(escape(text), style=style)


def warn(text: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(text)}")


def emit_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, sort_keys=True))


def open_amount(wei: int) -> str:
    return f"{wei / OPEN:,.4f}".rstrip("0").rstrip(".") + " OPEN"


# One error printer for every command (it escapes markup and keeps lines whole).
literal_errors = friendly_errors

@contextmanager
def byte_progress(
    description: str, total: int | None, enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (so `--json` stdout stays clean), shown on terminals only; yields
    `advance(n_bytes)`."""
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    shown = enabled and err_console.is_terminal  # a bar in a log file or a pipe is only noise
    with Progress(*columns, console=err_console, transient=True, disable=not shown) as progress:
        task = progress.add_task(escape(description), total=total)
        yield lambda n: progress.advance(task, n)
