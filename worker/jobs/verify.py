"""`openledger verify job ID`: what a challenger runs. The posted result is recomputed from on-chain
records and verified content alone (the job's model, its Datanet version, its training spec), and each
posted commitment is compared with the recomputed one.

Training and attribution are deterministic for a given spec, data and library versions. Attribution is
recomputed with the arguments the posted report declares (a worker of another release may have other
defaults), and the verification lists where they differ from ours. When a check fails, the report says
which file of the adapter differs. It is a MISMATCH only when the poster recorded the library versions
we run: with other versions (a different torch can change the last bits of a weight, and the versions are
themselves in the adapter directory) the verdict is CANNOT_JUDGE, and a fair challenge needs a rerun
with the poster's versions.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from worker.attribution import AttributionArguments, ProgressCallback
from worker.chain.client import ChainClient
from worker.chain.types import JobStatus
from worker.errors import ChainError, OpenLedgerError
from worker.jobs.compute import attribute_job, train_job
from worker.jobs.inputs import load_job_inputs
from worker.jobs.result import JobResult, publish_result
from worker.storage import ContentStore, bundle_files, verified_fetch
from worker.train import reusing_bases
from worker.train.determinism import library_versions

MAX_REPORT_BYTES = 256 * 1024 * 1024
MAX_VERSIONS_BYTES = 64 * 1024
VERSIONS_FILE = "versions.json"  # written by worker.train beside the adapter


class Verdict(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    CANNOT_JUDGE = "cannot judge"  # a check failed, but the poster ran other library versions than ours


@dataclass(frozen=True)
class Check:
    name: str
    posted: str
    recomputed: str

    @property
    def ok(self) -> bool:
        return self.posted.lower() == self.recomputed.lower()


@dataclass
class JobVerification:
    job_id: int
    model_id: int
    worker: str
    checks: list[Check]
    differing_files: list[str] = field(default_factory=list)
    version_differences: dict[str, Any] = field(default_factory=dict)
    # the posted report's attribution arguments that differ from this worker's defaults (used as posted)
    argument_differences: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def verdict(self) -> Verdict:
        if self.ok:
            return Verdict.MATCH
        return Verdict.CANNOT_JUDGE if self.version_differences else Verdict.MISMATCH

    def explanation(self) -> str:
        """The verdict in one line, e.g. `cannot judge: versions differ (torch 2.13.0 vs 2.12.0)`."""
        if self.verdict is not Verdict.CANNOT_JUDGE:
            return self.verdict.value
        pairs = ", ".join(
            f"{name} {pair['verifier']} vs {pair['poster']}"
            for name, pair in self.version_differences.items()
        )
        return f"cannot judge: versions differ ({pairs}; verifier vs poster)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "model_id": self.model_id,
            "worker": self.worker,
            "match": self.ok,
            "verdict": self.verdict.value,
            "explanation": self.explanation(),
            "checks": [{**asdict(c), "ok": c.ok} for c in self.checks],
            "differing_files": self.differing_files,
            "version_differences": self.version_differences,
            "argument_differences": self.argument_differences,
        }


def posted_result(client: ChainClient, job_id: int) -> JobResult:
    job = client.models.get_job(job_id)
    if JobStatus(job.status) not in (JobStatus.SUBMITTED, JobStatus.CHALLENGED, JobStatus.FINALIZED):
        raise ChainError(
            f"job {job_id} is {JobStatus(job.status).name.lower()}: it has no posted result to verify"
        )
    r = job.result
    return JobResult(r.adapter_cid, r.metrics_cid, r.report_cid, "0x" + bytes(r.attribution_root).hex())


def _file_differences(store: ContentStore, posted_cid: str, ours_cid: str) -> list[str]:
    try:
        posted = bundle_files(store, posted_cid)
    except Exception as exc:  # noqa: BLE001 - an unreadable bundle is itself the finding
        return [f"posted adapter bundle unreadable: {exc}"]
    ours = bundle_files(store, ours_cid)
    return sorted(name for name in set(posted) | set(ours) if posted.get(name) != ours.get(name))


def _posted_report(store: ContentStore, report_cid: str) -> dict[str, Any] | str:
    """The posted attribution report, or why it cannot be read (itself a finding, not a crash)."""
    try:
        report = json.loads(verified_fetch(store, report_cid, max_bytes=MAX_REPORT_BYTES))
    except Exception as exc:  # noqa: BLE001
        return str(exc)
    return report if isinstance(report, dict) else "not a JSON object"


def _posted_arguments(report: dict[str, Any] | str) -> AttributionArguments | None:
    """The attribution arguments the report declares; None (our defaults) if it declares none usable."""
    if isinstance(report, str):  # why the report could not be read
        return None
    try:
        return AttributionArguments.from_dict(report["arguments"])
    except (TypeError, KeyError, ValueError, OpenLedgerError):
        return None


def _flatten(arguments: dict[str, Any]) -> dict[str, Any]:
    return {f"{group}.{key}": v for group, values in arguments.items() for key, v in values.items()}


def _differences(theirs: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {"poster": theirs.get(k), "verifier": ours.get(k)}
        for k in sorted(set(theirs) | set(ours))
        if theirs.get(k) != ours.get(k)
    }


def _bundle_versions(store: ContentStore, adapter_cid: str) -> Any:
    """versions.json of the posted adapter bundle; None when it has none or it is unreadable (the adapter
    check already reports that)."""
    try:
        files = bundle_files(store, adapter_cid)
        return json.loads(verified_fetch(store, files[VERSIONS_FILE], max_bytes=MAX_VERSIONS_BYTES))
    except Exception:  # noqa: BLE001 - a bad bundle is a finding of the adapter check, not a crash
        return None


def _recorded_differences(theirs: Any, ours: dict[str, str]) -> dict[str, Any]:
    """Differences on the libraries the poster recorded: one an older release did not record is no
    evidence either way."""
    if not isinstance(theirs, dict):
        return {}
    return _differences(theirs, {name: ours.get(name) for name in theirs})


def _version_differences(
    store: ContentStore, posted: JobResult, report: dict[str, Any] | str
) -> dict[str, Any]:
    """Where the poster's recorded library versions differ from ours: those of its training (in the
    adapter) and of its attribution (in the report), which a restart between the two may have changed."""
    ours = library_versions()
    attributed = _recorded_differences(report.get("versions") if isinstance(report, dict) else None, ours)
    return {**attributed, **_recorded_differences(_bundle_versions(store, posted.adapter_cid), ours)}


def verify_job(
    client: ChainClient,
    store: ContentStore,
    job_id: int,
    workdir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> JobVerification:
    """Retrain and re-attribute the job from chain records and verified content, and compare with what
    was posted (`progress` follows the attribution passes)."""
    posted = posted_result(client, job_id)
    inputs = load_job_inputs(client, store, job_id)
    report = _posted_report(store, posted.report_cid)
    args = _posted_arguments(report)
    with (
        tempfile.TemporaryDirectory(prefix=f"openledger-verify-{job_id}-", dir=workdir) as tmp,
        reusing_bases(),  # training and attribution build the same base: loaded once
    ):
        model_dir = train_job(inputs, Path(tmp))
        ours = publish_result(store, model_dir, attribute_job(inputs, model_dir, args, progress))
    checks = [
        Check("adapter", posted.adapter_cid, ours.adapter_cid),
        Check("metrics", posted.metrics_cid, ours.metrics_cid),
        Check("attribution report", posted.report_cid, ours.report_cid),
        Check("attribution root", posted.attribution_root, ours.attribution_root),
    ]
    result = JobVerification(job_id, inputs.model_id, client.models.get_job(job_id).worker, checks)
    result.argument_differences = _differences(
        _flatten((args or AttributionArguments()).to_dict()), _flatten(AttributionArguments().to_dict())
    )
    if not checks[0].ok:
        result.differing_files = _file_differences(store, posted.adapter_cid, ours.adapter_cid)
    if not result.ok:
        result.version_differences = _version_differences(store, posted, report)
    return result
