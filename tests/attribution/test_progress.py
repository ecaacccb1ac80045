"""attribute(progress=...) reports each long pass per batch, ending at its total (the CLI draws the bars)."""

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
    assert set(seen) == {"index", "queries", "validation"}
    for calls in seen.values():
        assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1] > 0
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)
