"""The `openledger` command: one typer app assembled from one module per user journey.

Each `*_commands.py` module exposes `register(app)`; keeping them apart lets storage, chain, training
and serving grow without a god file.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="openledger",
    help="Open Proof of Attribution: Datanets, LoRA fine-tuning, attribution and contributor payouts.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

_COMMAND_MODULES = (
    "worker.cli.chain_commands",
    "worker.cli.storage_commands",
    "worker.cli.datanet_commands",
    "worker.cli.curator_commands",
    "worker.cli.contribution_commands",
    "worker.cli.model_commands",
    "worker.cli.job_commands",
    "worker.cli.train_commands",
    "worker.cli.worker_commands",
    "worker.cli.verify_commands",
    "worker.cli.challenge_commands",
    "worker.cli.serve_commands",
    "worker.cli.rewards_commands",
    "worker.cli.withdraw_commands",
    "worker.cli.watch_commands",
    "worker.cli.dev_commands",
    "worker.cli.explorer_commands",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_all()
