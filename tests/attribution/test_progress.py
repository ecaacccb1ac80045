"""attribute(progress=...) reports each long pass per batch or optimizer step, ending at its total (the CLI
and the worker daemon draw the bars)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tinymodels import sentiment_records

from worker.attribution import attribute


def test_attribution_reports_progress_per_stage(trained_bert: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(trained_bert, model)  # attribute saves its index next to the adapter
    seen: dict[str, list[tuple[int, int]]] = {}
    queries = sentiment_records()[:5]
    attribute(
        model, sentiment_records(), queries, progress=lambda s, d, t: seen.setdefault(s, []).append((d, t))
    )
    # the model level replays training: once forward, once backward, per optimizer step
    assert set(seen) == {"index", "queries", "replay", "metagradient"}
    assert seen["replay"][-1] == seen["metagradient"][-1]
    for calls in seen.values():
        assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1] > 0
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_the_daemon_draws_a_bar_per_stage(capsys) -> None:
    from worker.daemon.training import stage_bars

    with stage_bars(False) as none:
        assert none is None
    with stage_bars(True) as report:
        assert report is not None
        for done in range(4):
            report("replay", done, 3)
        report("metagradient", 3, 3)
    err = capsys.readouterr().err
    assert "model level: replaying training" in err and "3/3" in err and "model level: metagradients" in err
