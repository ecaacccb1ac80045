"""`openledger worker run --min-accuracy`: a result whose validation accuracy is below the floor is never
posted; the task ends with the reason logged and the job is released for other workers."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from worker.canonical import canonical_json
from worker.daemon.tasks import TaskState
from worker.daemon.training import TrainingJobs
from worker.jobs import JobResult
from worker.storage import LocalStore


class _Tasks:
    def __init__(self) -> None:
        self.finished: list[tuple[Any, str]] = []

    def finish(self, task: Any, state: TaskState, reason: str) -> None:
        self.finished.append((state, reason))


def _jobs(tmp_path: Path, floor: float | None, accuracy: float) -> tuple[TrainingJobs, Any, list[Any]]:
    store = LocalStore(tmp_path / "ipfs")
    metrics_cid = store.add(canonical_json({"final": {"val_accuracy": accuracy}}))
    result = JobResult("bafy-adapter", metrics_cid, "bafy-report", "0x" + "11" * 32)
    sent: list[str] = []
    outbox = SimpleNamespace(send=lambda task_id, what, fn: sent.append(what))
    ctx = SimpleNamespace(
        settings=SimpleNamespace(min_accuracy=floor, follower=SimpleNamespace(confirmations=0)),
        store=store,
        client=SimpleNamespace(w3=SimpleNamespace(eth=SimpleNamespace(block_number=5))),
        tasks=_Tasks(),
        outbox=outbox,
        log=lambda *args, **fields: None,
    )
    jobs = TrainingJobs(ctx)  # type: ignore[arg-type]
    jobs._release_if_held = lambda task: sent.append("release")  # type: ignore[method-assign]
    task = SimpleNamespace(id="train:1", subject=1, data={"result": result.to_dict()})
    return jobs, task, sent


def test_a_result_below_the_floor_is_not_posted_and_the_job_released(tmp_path: Path) -> None:
    jobs, task, sent = _jobs(tmp_path, 0.6, 0.33)
    jobs._submit(task, None)  # type: ignore[arg-type]
    assert sent == ["release"]  # nothing submitted
    [(state, reason)] = jobs.ctx.tasks.finished  # type: ignore[attr-defined]
    assert state is TaskState.SKIPPED and "0.3300 is below this worker's --min-accuracy 0.6" in reason


def test_the_floor_passes_good_results_and_is_off_by_default(tmp_path: Path) -> None:
    for floor, accuracy in ((0.6, 0.8), (None, 0.1)):
        jobs, task, _ = _jobs(tmp_path / str(floor), floor, accuracy)
        assert jobs._too_weak(JobResult(**task.data["result"])) == ""
