"""Output helpers of the storage and Datanet commands: literal text (never rich markup), JSON for scripts,
byte progress bars on stderr, and errors printed whole.

Messages carry user data and error codes in brackets (`line 3: ... [unknown_label]`, `['a', 'b']`), which
rich would read as markup and silently drop, so everything variable is escaped here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

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


def span(seconds: int) -> str:
    """A duration for people: '3d 4h', '2h 10m', '5m', '40s'."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{secs}s"


def when(timestamp: int, now: int) -> str:
    """A chain timestamp as a date and relative to chain time `now` (dev chains move their clock):
    '2026-12-06 14:00 UTC, in 2h 10m', '..., 3d 4h ago' or '..., just now'."""
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))
    if timestamp == now:
        return f"{date}, just now"
    if timestamp > now:
        return f"{date}, in {span(timestamp - now)}"
    return f"{date}, {span(now - timestamp)} ago"


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


@contextmanager
def attribution_progress(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A bar per attribution stage on stderr (terminals only); yields the `progress(stage, done, total)`
    callback that worker.attribution reports to."""
    from worker.attribution.progress import STAGE_TITLES  # here: torch is imported only when attributing

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    shown = enabled and err_console.is_terminal
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=err_console, transient=True, disable=not shown) as progress:

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(escape(STAGE_TITLES.get(stage, stage)), total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield report
