"""Progress of the engine's long passes, reported as `progress(stage, done, total)` to whoever draws the
bars (the CLI, the worker daemon); the engine itself never prints."""

from __future__ import annotations

from collections.abc import Callable

# (stage, items done, items in the stage), called after each batch or optimizer step.
ProgressCallback = Callable[[str, int, int], None]

# The stages, with the titles progress bars show: examples for the first three, optimizer steps for the
# model-level replay (worker/attribution/replay.py).
STAGE_TITLES = {
    "index": "attribution: training records",
    "queries": "attribution: queries",
    "validation": "attribution: validation (model level)",
    "replay": "model level: replaying training",
    "metagradient": "model level: metagradients",
}


def stage_tracker(report: ProgressCallback | None, stage: str, total: int) -> Callable[[int], None] | None:
    """`advance(n)` for a stage of `total` items, reporting the running count to `report` (None without
    one); reports 0 at once, so a bar appears before the first item is done."""
    if report is None:
        return None
    done = 0
    report(stage, 0, total)

    def advance(n: int) -> None:
        nonlocal done
        done += n
        report(stage, done, total)

    return advance
