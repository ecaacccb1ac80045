"""`python -m worker.cli` is the `openledger` command (used where the console script is not on PATH)."""

from worker.cli import app

app()
