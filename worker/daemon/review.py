"""Auto-review for Datanets that opt in (the worker holds the curator role and is told to review them):
each new contribution is fetched and verified against its CID, validated against the Datanet's schema and
declared counts, checked for duplicates of accepted records, and accepted or rejected with a reason CID."""

from __future__ import annotations

from typing import Any

from worker.chain.types import ContributionStatus
from worker.daemon.context import WorkerContext
from worker.daemon.tasks import Task, TaskState
from worker.daemon.verdicts import record_failure
from worker.data import validate_jsonl
from worker.datanet.contributing import accepted_duplicate_index
from worker.datanet.curation import check_content, review_contribution
from worker.datanet.state import fetch_metadata
from worker.errors import DataError, StorageError
from worker.storage import verified_fetch
from worker.storage.errors import CidMismatchError

KIND = "review"


class AutoReview:
    def __init__(self, ctx: WorkerContext):
        self.ctx = ctx

    def run(self, task: Task) -> None:
        try:
            self._review(task)
        except Exception as exc:  # noqa: BLE001 - classified and recorded
            record_failure(self.ctx, task, exc)

    def _review(self, task: Task) -> None:
        client, cid = self.ctx.client, task.subject
        if cid > client.datanets.contribution_count():
            self.ctx.tasks.finish(task, TaskState.ORPHANED, "the contribution is not on the chain (any more)")
            return
        contribution = client.datanets.get_contribution(cid)
        if contribution.status != ContributionStatus.PENDING:
            self.ctx.tasks.finish(task, TaskState.SKIPPED, f"already {contribution.status.name.lower()}")
            return
        if not client.datanets.is_curator(contribution.datanet_id, client.address):
            reason = f"not a curator of datanet {contribution.datanet_id}"
            self.ctx.tasks.finish(task, TaskState.SKIPPED, reason)
            return
        accept, reason, details = self._verdict(cid, contribution)
        result = self.ctx.outbox.send(
            task.id,
            "review",
            lambda: review_contribution(client, self.ctx.store, cid, accept, reason=reason, details=details),
        )
        self.ctx.log("review.posted", task, accepted=accept, reason=reason, reason_cid=result.reason_cid)
        verdict = f"{'accepted' if accept else 'rejected'}: {reason or 'valid'}"
        self.ctx.tasks.finish(task, TaskState.DONE, verdict)

    def _verdict(self, cid: int, contribution: Any) -> tuple[bool, str, dict[str, Any] | None]:
        """(accept, reason, details). Content that is merely missing raises (retried later)."""
        client, store = self.ctx.client, self.ctx.store
        datanet = client.datanets.get_datanet(contribution.datanet_id)
        metadata = fetch_metadata(store, contribution.datanet_id, datanet)
        try:
            check_content(store, cid, contribution, metadata)
        except (DataError, CidMismatchError) as exc:
            return False, "invalid", {"error": str(exc)[:4000]}
        data = verified_fetch(store, contribution.content_cid, max_bytes=contribution.byte_size)
        records = validate_jsonl(data, metadata.record_schema(), metadata.limits).records
        try:
            index = accepted_duplicate_index(client, store, contribution.datanet_id)
        except StorageError as exc:
            raise StorageError(f"cannot check duplicates yet: {exc}") from exc
        matches = index.find(records)
        if len(matches) > self.ctx.settings.review_duplicate_fraction * len(records):
            details = {
                "duplicates": len(matches),
                "of": len(records),
                "matches_contribution": matches[0].contribution_id,
            }
            return False, "duplicate", details
        return True, "", None
