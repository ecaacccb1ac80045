"""Training jobs, from `TrainingRequested` to a finalized result and a withdrawn bounty.

Every run starts from the chain: the job is read afresh and the next step is chosen from what the chain
says and what this worker already has on disk. So a restart after `kill -9`, a reorg that removed our
claim, or another worker taking over all lead to the right next step, and nothing is posted twice (the
contract also refuses a second result, but the worker never even tries).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from worker.attribution.progress import STAGE_TITLES, ProgressCallback
from worker.attribution.report import AttributionReport
from worker.chain.types import Job, JobStatus
from worker.daemon.context import WorkerContext
from worker.daemon.lease import LeaseKeeper
from worker.daemon.tasks import Task, TaskState
from worker.daemon.verdicts import describe, record_failure
from worker.faults import arm_timer, failpoint
from worker.files import atomic_write
from worker.jobs import JobInputs, JobResult, attribute_job, load_job_inputs, publish_result, train_job
from worker.jobs.models import result_metrics, validation_accuracy
from worker.train import reusing_bases

KIND = "train"
COMPUTE_STAGES = ("claim", "fetch", "train", "attribute", "upload")
Step = Callable[[Task, Job], None]


@contextmanager
def stage_bars(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A tqdm bar per attribution stage (as training shows its steps), or None when progress is off."""
    if not enabled:
        yield None
        return
    bars: dict[str, tqdm[Any]] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=STAGE_TITLES.get(stage, stage), unit="step")
        bar.update(done - bar.n)

    try:
        yield report
    finally:
        for bar in bars.values():
            bar.close()


class TrainingJobs:
    def __init__(self, ctx: WorkerContext):
        self.ctx = ctx

    # -- entry -----------------------------------------------------------------------------------------

    def run(self, task: Task) -> None:
        """Advance `task` as far as possible now (until it waits, ends, or fails)."""
        task.state = TaskState.PENDING
        while task.state == TaskState.PENDING:
            try:
                job = self._chain_job(task)
                step = self._next_step(task, job)
                if step is None:
                    return
                step(task, job)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
                if record_failure(self.ctx, task, exc).state == TaskState.FAILED:
                    self._release_if_held(task)
                return

    # -- reconciliation ----------------------------------------------------------------------------

    def _chain_job(self, task: Task) -> Job | None:
        models = self.ctx.client.models
        if task.subject > models.job_count():
            return None
        job = models.get_job(task.subject)
        same = (
            job.model_id == task.data.get("model_id")
            and job.requester.lower() == str(task.data.get("requester", "")).lower()
        )
        return job if same else None  # a different job under a reused id (after a reorg)

    def _next_step(self, task: Task, job: Job | None) -> Step | None:
        tasks, mine = self.ctx.tasks, job is not None and job.worker.lower() == self.ctx.me.lower()
        if job is None:
            tasks.finish(task, TaskState.ORPHANED, "the job is not on the chain (any more): nothing to do")
            return None
        status = JobStatus(job.status)
        if status is JobStatus.CANCELLED:
            tasks.finish(task, TaskState.SKIPPED, "cancelled by the requester")
        elif status is JobStatus.FINALIZED:
            if mine:
                return self._withdraw
            tasks.finish(task, TaskState.SKIPPED, f"finalized with the result of worker {job.worker}")
        elif status in (JobStatus.SUBMITTED, JobStatus.CHALLENGED):
            if mine:
                return self._finalize
            tasks.finish(task, TaskState.SKIPPED, f"worker {job.worker} submitted a result")
        elif status is JobStatus.CLAIMED:
            return self._claimed_step(task, job, mine)
        elif status is JobStatus.OPEN:
            return self._claim
        return None

    def _claimed_step(self, task: Task, job: Job, mine: bool) -> Step | None:
        now = self.ctx.client.latest_timestamp()
        if job.lease_expires_at <= now:
            return self._claim  # expired, ours or not: take it (again)
        if mine:
            return self._submit if task.stage == "submit" else self._compute
        self.ctx.tasks.wait(
            task,
            self._chain_wait(job.lease_expires_at - now + 1),
            f"lease held by {job.worker} until {job.lease_expires_at}",
        )
        return None

    def _chain_wait(self, chain_seconds: float) -> float:
        """Chain time can jump (dev chains): wake up at least every `max_wait` seconds to look again."""
        return min(max(chain_seconds, 0.0), self.ctx.settings.max_wait)

    # -- steps -----------------------------------------------------------------------------------------

    def _claim(self, task: Task, job: Job) -> None:
        model = self.ctx.client.models.get_model(job.model_id)
        refusal = self._cannot_serve(model.base_model) or self._past_deadline(job)
        if refusal:
            self.ctx.tasks.finish(task, TaskState.SKIPPED, refusal)
            return
        if not self._collateral_ready(task, job):
            return
        started = time.monotonic()
        tx = self.ctx.outbox.send(task.id, "claim", lambda: self.ctx.client.models.claim_job(task.subject))
        claimed = tx.event("JobClaimed")
        self.ctx.log(
            "job.claimed", task, job=task.subject, tx=tx.tx_hash, lease=int(claimed["leaseExpiresAt"])
        )
        failpoint("after-claim")  # the worst moment: claimed on-chain, not yet recorded here
        stage = task.stage if task.stage in COMPUTE_STAGES[1:] or task.stage == "submit" else "fetch"
        task.data.setdefault("timings", {})["claim"] = round(time.monotonic() - started, 3)
        self.ctx.tasks.save(task, lease_expires_at=int(claimed["leaseExpiresAt"]))
        self.ctx.tasks.advance(task, stage, claim_block=tx.block_number)

    def _cannot_serve(self, base_model: str) -> str:
        settings = self.ctx.settings
        if base_model in settings.base_models:
            return ""
        if settings.allow_local_models and Path(base_model).is_dir():
            return ""
        return (
            f"this worker does not train base model {base_model!r} (serves {', '.join(settings.base_models)})"
        )

    def _past_deadline(self, job: Job) -> str:
        """No claims after the job's hard deadline (the contract reverts JobDeadlinePassed)."""
        deadline = job.requested_at + self.ctx.client.models.params().job_deadline
        if self.ctx.client.latest_timestamp() <= deadline:
            return ""
        return f"the job's hard deadline {deadline} has passed: nobody may claim it any more"

    def _collateral_ready(self, task: Task, job: Job) -> bool:
        """A claim locks collateral from the free stake (else it reverts InsufficientFreeStake). Stake this
        worker's own unfinalized work holds comes back: wait for it; a stake too small ever: skip."""
        workers, me = self.ctx.client.workers, self.ctx.me
        needed = self.ctx.client.models.params().collateral(job.bounty)
        free = workers.free_stake(me)
        if free >= needed:
            return True
        stake = workers.stake_of(me)
        if stake < needed:
            reason = (
                f"claiming locks {_open(needed)} of collateral, more than this worker's whole stake "
                f"({_open(stake)}): add stake to take jobs of this bounty"
            )
            self.ctx.log("job.skipped_collateral", task, logging.WARNING, needed=needed, stake=stake)
            self.ctx.tasks.finish(task, TaskState.SKIPPED, reason)
            return False
        reason = f"claiming locks {_open(needed)} of collateral, {_open(free)} free: waiting for our locks"
        self.ctx.tasks.wait(task, self._chain_wait(self.ctx.settings.max_wait), reason)
        return False

    def workdir(self, task: Task) -> Path:
        return self.ctx.settings.jobs_dir / task.id.replace(":", "-")

    def _compute(self, task: Task, job: Job) -> None:
        duration = self.ctx.client.models.params().lease_duration
        with LeaseKeeper(self.ctx.client, task.subject, duration, job.lease_expires_at) as keeper:
            result, timings = self._produce(task, keeper)
        self.ctx.tasks.advance(
            task, "submit", result=result.to_dict(), timings=timings, renewals=keeper.renewals
        )
        failpoint("after-upload")

    def _produce(self, task: Task, keeper: LeaseKeeper) -> tuple[JobResult, dict[str, float]]:
        ctx, workdir, timings = self.ctx, self.workdir(task), dict(task.data.get("timings", {}))

        def timed(stage: str, fn: Callable[[], Any]) -> Any:
            keeper.check()
            ctx.tasks.save(task, stage=stage)
            started = time.monotonic()
            value = fn()
            timings[stage] = round(time.monotonic() - started, 3)
            ctx.log(f"job.{stage}", task, seconds=timings[stage])
            keeper.check()
            return value

        inputs = timed("fetch", lambda: load_job_inputs(ctx.client, ctx.store, task.subject))
        with reusing_bases():  # training and attribution build the same base: loaded once
            timer = arm_timer("during-training")
            model_dir = timed("train", lambda: train_job(inputs, workdir, progress=ctx.settings.progress))
            if timer is not None:
                timer.cancel()
            report = timed(
                "attribute", lambda: self._report(inputs, model_dir, workdir, ctx.settings.progress)
            )
        result = timed("upload", lambda: publish_result(ctx.store, model_dir, report))
        return result, timings

    @staticmethod
    def _report(inputs: JobInputs, model_dir: Path, workdir: Path, progress: bool) -> AttributionReport:
        """Attribution is deterministic but not free: keep the report so a restart does not redo it."""
        path = workdir / "report.json"
        if path.is_file():
            return AttributionReport.from_dict(json.loads(path.read_text()))
        with stage_bars(progress) as report_progress:
            report = attribute_job(inputs, model_dir, progress=report_progress)
        atomic_write(path, report.to_json())
        return report

    def _submit(self, task: Task, job: Job) -> None:
        confirmations = self.ctx.settings.follower.confirmations
        head = self.ctx.client.w3.eth.block_number
        if confirmations and head - int(task.data.get("claim_block", head)) < confirmations:
            self.ctx.tasks.wait(
                task, self.ctx.settings.poll_interval, "waiting for the claim to be confirmed"
            )
            return
        result, started = JobResult(**task.data["result"]), time.monotonic()
        refusal = self._too_weak(result)
        if refusal:
            self.ctx.log("job.refused_weak", task, logging.WARNING, reason=refusal)
            self.ctx.tasks.finish(task, TaskState.SKIPPED, refusal)
            self._release_if_held(task)
            return
        tx = self.ctx.outbox.send(
            task.id,
            "submit",
            lambda: self.ctx.client.models.submit_result(
                task.subject, result.adapter_cid, result.metrics_cid, result.root_bytes, result.report_cid
            ),
        )
        deadline = int(tx.event("ResultSubmitted")["challengeDeadline"])
        self.ctx.log("job.submitted", task, tx=tx.tx_hash, adapter=result.adapter_cid, deadline=deadline)
        failpoint("after-submit")  # posted on-chain, not yet recorded here
        task.data.setdefault("timings", {})["post"] = round(time.monotonic() - started, 3)
        self.ctx.tasks.advance(task, "finalize", submit_block=tx.block_number, challenge_deadline=deadline)

    def _too_weak(self, result: JobResult) -> str:
        """Why this result must not be posted under `min_accuracy` ("" when it may), from its metrics."""
        floor = self.ctx.settings.min_accuracy
        if floor is None:
            return ""
        accuracy = validation_accuracy(result_metrics(self.ctx.store, result.metrics_cid))
        if accuracy is None or accuracy >= floor:
            return ""
        return (
            f"validation accuracy {accuracy:.4f} is below this worker's --min-accuracy {floor:g}: "
            "result not posted, job released"
        )

    def _finalize(self, task: Task, job: Job) -> None:
        if task.stage != "finalize":  # found Submitted on-chain after a crash before we recorded it
            self.ctx.tasks.advance(task, "finalize", challenge_deadline=job.challenge_deadline)
        if JobStatus(job.status) is JobStatus.CHALLENGED:
            self._challenged(task, job)
            return
        now = self.ctx.client.latest_timestamp()
        if now <= job.challenge_deadline:
            self.ctx.tasks.wait(
                task,
                self._chain_wait(job.challenge_deadline - now + 1),
                f"challenge window open until {job.challenge_deadline}",
            )
            return
        if not self.ctx.settings.finalize:
            self.ctx.tasks.finish(task, TaskState.DONE, "result posted; finalization left to others")
            return
        failpoint("before-finalize")
        tx = self.ctx.outbox.send(task.id, "finalize", lambda: self.ctx.client.models.finalize(task.subject))
        self.ctx.log("job.finalized", task, tx=tx.tx_hash)
        if tx.events_named("ResultAwaitingOwner"):
            # The model already has a live provider: only its owner swaps the adapter (activateResult).
            # The bounty is ours all the same, so the job is done as usual.
            self.ctx.log("job.awaiting_owner", task, model=job.model_id, detail="the owner may activate it")
        self.ctx.tasks.advance(task, "withdraw", finalize_block=tx.block_number)

    def _challenged(self, task: Task, job: Job) -> None:
        """Governance rules until the dispute's deadline; after it anyone lapses the challenge (the result
        is voided, nobody slashed, our collateral released) and the job is Open to claim again."""
        dispute, now = job.dispute, self.ctx.client.latest_timestamp()
        if now <= dispute.ruling_deadline:
            self.ctx.tasks.wait(
                task,
                self._chain_wait(dispute.ruling_deadline - now + 1),
                f"challenged by {dispute.challenger}; governance rules until {dispute.ruling_deadline}",
            )
            return
        tx = self.ctx.outbox.send(
            task.id, "lapse", lambda: self.ctx.client.models.lapse_challenge(task.subject)
        )
        self.ctx.log("job.challenge_lapsed", task, tx=tx.tx_hash, challenger=dispute.challenger)

    def _withdraw(self, task: Task, job: Job) -> None:
        models = self.ctx.client.models
        if self.ctx.settings.withdraw and models.credited(self.ctx.me) > 0:
            tx = self.ctx.outbox.send(task.id, "withdraw", models.withdraw)
            self.ctx.log("job.withdrawn", task, tx=tx.tx_hash)
        self.ctx.tasks.finish(task, TaskState.DONE, "")

    # -- giving up ---------------------------------------------------------------------------------

    def _release_if_held(self, task: Task) -> None:
        """A job this worker cannot finish is handed back, not held until the lease runs out."""
        try:
            job = self._chain_job(task)
            if job is None or JobStatus(job.status) is not JobStatus.CLAIMED:
                return
            if job.worker.lower() != self.ctx.me.lower():
                return
            tx = self.ctx.outbox.send(
                task.id, "release", lambda: self.ctx.client.models.release_job(task.subject)
            )
            self.ctx.log("job.released", task, tx=tx.tx_hash, reason=task.last_error)
        except Exception as exc:  # noqa: BLE001 - the lease will expire on its own
            self.ctx.log("job.release_failed", task, logging.WARNING, error=describe(exc))


def _open(wei: int) -> str:
    return f"{wei / 10**18:g} OPEN"
