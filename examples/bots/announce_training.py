"""A bot that reacts to every `TrainingRequested`: it says which model wants training, for what bounty and
by when a worker must claim it (post the line to a chat, a queue, a pager... here: stdout).

    python examples/bots/announce_training.py            # follows the chain; Ctrl-C stops, a rerun resumes
    python examples/bots/announce_training.py --once     # what was requested since the last run, then exit

Reads only: no account needed (`ChainClient.connect()` is read-only when none is configured). The cursor
`announce-training` keeps its place in $OPENLEDGER_HOME/watch/, so each request is announced once per
run of the chain, and again only if the bot crashed before the cursor moved (delivery is at least once).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime

from worker.chain.client import ChainClient
from worker.chain.events import DecodedEvent
from worker.daemon.watch import follow
from worker.units import OPEN


def announcement(client: ChainClient, event: DecodedEvent) -> str:
    """One line about the requested job, read from the chain as it is now."""
    job_id, model_id = int(event["jobId"]), int(event["modelId"])
    job = client.models.require_job(job_id)
    model = client.models.get_model(model_id)
    deadline = datetime.fromtimestamp(job.requested_at + client.models.params().job_deadline, UTC)
    return (
        f"training wanted: job {job_id} for model {model_id} (datanet {model.datanet_id} version "
        f"{model.version_id}), bounty {int(event['bounty']) / OPEN:g} OPEN, claim by "
        f"{deadline:%Y-%m-%d %H:%M} UTC (tx {event.tx_hash})"
    )


def run(client: ChainClient, once: bool = False, emit: Callable[[str], object] = print) -> int:
    """Announce every TrainingRequested from the bot's cursor on; returns how many."""
    return follow(
        lambda event: emit(announcement(client, event)),
        client=client,
        events=["TrainingRequested"],
        cursor="announce-training",
        once=once,
    )


if __name__ == "__main__":
    try:
        run(ChainClient.connect(), once="--once" in sys.argv[1:])
    except KeyboardInterrupt:
        pass
