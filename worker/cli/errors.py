"""Turns OpenLedgerError into a one-line message and exit code 1 instead of a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from worker.errors import OpenLedgerError

P = ParamSpec("P")
R = TypeVar("R")
err_console = Console(stderr=True)


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except OpenLedgerError as exc:
            # escape: messages carry bracketed codes ([unknown_label]) that rich would read as markup
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(code=1) from exc

    return wrapper
