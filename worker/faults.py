"""Failpoints: `OPENLEDGER_FAILPOINT=after-claim` makes the process kill itself with SIGKILL at that point,
so crash recovery is tested at exact positions with a real `kill -9` (no cleanup, no finally blocks).

Worker daemon points: after-claim, during-training (SIGKILL `OPENLEDGER_FAILPOINT_DELAY` seconds, default
0.5, into training), after-upload, after-submit, before-finalize. Serving points: after-receipt (the
receipt is committed, the answer not yet sent), after-epoch-post (the root is on-chain, the receipt log
not yet told). Unset in production: every check is a dict lookup.
"""

from __future__ import annotations

import os
import signal
import threading

POINTS = (
    "after-claim",
    "during-training",
    "after-upload",
    "after-submit",
    "before-finalize",
    "after-receipt",
    "after-epoch-post",
)


def _armed(point: str) -> bool:
    return os.environ.get("OPENLEDGER_FAILPOINT") == point


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def failpoint(point: str) -> None:
    if _armed(point):
        _die()


def arm_timer(point: str) -> threading.Timer | None:
    """For points inside long calls: SIGKILL after the configured delay, from another thread."""
    if not _armed(point):
        return None
    timer = threading.Timer(float(os.environ.get("OPENLEDGER_FAILPOINT_DELAY", "0.5")), _die)
    timer.daemon = True
    timer.start()
    return timer
