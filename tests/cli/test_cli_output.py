"""Deadlines as dates and relative to chain time, one helper for every command."""

from __future__ import annotations

from worker.cli.cli_output import span, when

NOW = 1_796_565_600  # 2026-12-06 14:00 UTC


def test_deadlines_read_as_dates_and_spans() -> None:
    assert when(NOW + 2 * 3600 + 600, NOW) == "2026-12-06 16:10 UTC, in 2h 10m"
    assert when(NOW - 3 * 86_400 - 4 * 3600, NOW) == "2026-12-03 10:00 UTC, 3d 4h ago"
    assert when(NOW, NOW) == "2026-12-06 14:00 UTC, just now"
    assert [span(s) for s in (40, 300, 3600, 86_400)] == ["40s", "5m", "1h", "1d"]


def test_worker_run_refuses_an_accuracy_outside_0_1(offline_home) -> None:
    refused = offline_home.run("worker", "run", "--min-accuracy", "1.5", code=2)
    assert "between 0 and 1" in refused.stderr
