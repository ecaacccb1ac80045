"""Off-chain content the pages show, fetched from content storage (every byte verified against the CID the
chain recorded) by the readers the CLI uses, and cached by CID: content is immutable, so a cached
document never goes stale and survives reorgs. A fetch that fails, or a document that does not parse, is
recorded with its error (the page says what is missing) and retried: on the next passes, then after a
delay doubling from a minute up to 6 hours, never blocking the other documents nor chain indexing (fetches
run in their own threads, a few at a time: ContentFetcher). A document is cached per (CID, kind).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from worker.database import DatabaseUnavailable, Transaction
from worker.errors import DataError, redact_urls
from worker.explorer.handlers import upsert
from worker.explorer.schema import ExplorerDatabase
from worker.serve.service import nesting_depth
from worker.storage import ContentStore, verified_fetch

log = logging.getLogger("openledger.explorer")
# A document that failed is retried on the next passes, then once every RETRY_AFTER_S (content may reach the
# store later: a contributor's node coming back, IPFS_API pointed at another node).
FAST_ATTEMPTS = 5
RETRY_AFTER_S = 60.0
MAX_RETRY_AFTER_S = 6 * 3600.0  # the backoff of a document that keeps failing stops growing at 6 h
MAX_REASON_BYTES = 64 * 1024
MAX_DOCUMENT_DEPTH = 64  # JSON nested deeper is refused before it is parsed (a RecursionError otherwise)
EVIDENCE_QUERIES = 20  # queries of an attribution report whose top records and spans are kept as evidence

Extra = Callable[[Transaction, str, Any], None]


def metadata_body(store: ContentStore, cid: str, subject: int) -> dict[str, Any]:
    from worker.datanet.state import fetch_metadata_cid

    metadata = fetch_metadata_cid(store, subject, cid)
    return {**metadata.model_dump(mode="json"), "schema": _schema(metadata)}


def _schema(metadata: Any) -> dict[str, Any]:
    from worker.data.schema import OPTIONAL_FIELDS, SHAPES

    schema = metadata.record_schema()
    return {
        "shapes": [list(shape) for shape in SHAPES[schema.task]],
        "optional": list(OPTIONAL_FIELDS),
        "labels": list(schema.labels),
    }


def _json_document(store: ContentStore, cid: str, _subject: int) -> dict[str, Any]:
    data = verified_fetch(store, cid, max_bytes=MAX_REASON_BYTES)
    try:
        document = _parse_json(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"text": data.decode("utf-8", "replace")}
    return document if isinstance(document, dict) else {"value": document}


def _parse_json(data: bytes) -> Any:
    if nesting_depth(data) > MAX_DOCUMENT_DEPTH:
        raise DataError(f"the document nests JSON deeper than {MAX_DOCUMENT_DEPTH} levels")
    return json.loads(data)


def _metrics(store: ContentStore, cid: str, _subject: int) -> dict[str, Any]:
    from worker.jobs.models import result_metrics, validation_accuracy

    metrics = result_metrics(store, cid)
    return {"metrics": metrics, "validation_accuracy": validation_accuracy(metrics)}


def _attribution(store: ContentStore, cid: str, _subject: int) -> Any:
    from worker.attribution import AttributionReport
    from worker.serve.loading import MAX_ATTRIBUTION_REPORT

    raw = verified_fetch(store, cid, max_bytes=MAX_ATTRIBUTION_REPORT)
    return AttributionReport.from_dict(_parse_json(raw))


def attribution_body(report: Any) -> dict[str, Any]:
    provenance = report.record_provenance()
    evidence = []
    for query in report.queries[:EVIDENCE_QUERIES]:
        top = query.get("top") or query.get("top_k") or []
        rows = []
        for row in top[:5]:
            record = int(row.get("record", -1))
            owner = provenance[record] if 0 <= record < len(provenance) else None
            rows.append(
                {
                    "record": record,
                    "score": row.get("score"),
                    "hash": owner.hash if owner else "",
                    "contribution": owner.contribution if owner else "",
                    "contributor": owner.contributor if owner else "",
                }
            )
        spans = [
            {k: span.get(k) for k in ("text", "contribution", "records", "length") if k in span}
            for span in (query.get("spans") or [])[:5]
        ]
        evidence.append(
            {"query": str(query.get("hash", "")), "label": query.get("label"), "top": rows, "spans": spans}
        )
    return {
        "method": report.method,
        "records": len(report.records),
        "queries": len(report.queries),
        "flagged_records": (report.summary or {}).get("flagged_records", [])[:100],
        "evidence": evidence,
    }


def attribution_rows(db: Transaction, cid: str, report: Any) -> None:
    model_level = {p.key: p.net for p in report.model_level_contributors()}
    summary = report.summary or {}
    for party, rows in (
        ("contributor", summary.get("contributors", [])),
        ("contribution", summary.get("contributions", [])),
    ):
        for r in rows:
            upsert(
                db, "attribution", ("report_cid", "party", "key"), report_cid=cid, party=party,
                key=_account(r["key"]) if party == "contributor" else str(r["key"]),
                records=int(r.get("records", 0)), positive=float(r.get("positive", 0.0)),
                negative=float(r.get("negative", 0.0)), weight=float(r.get("weight", 0.0)),
                flagged=int(bool(r.get("flagged"))),
                model_level=model_level.get(str(r["key"])) if party == "contributor" else None,
            )  # fmt: skip


def _account(key: Any) -> str:
    """Addresses are stored checksummed (lookups compare with `=`, on an index); other keys as they are."""
    text = str(key)
    return to_checksum_address(text) if is_address(text) else text


def _epoch_report(store: ContentStore, cid: str, _subject: int) -> Any:
    from worker.rewards import load_report

    return load_report(store, cid)


def _epoch_body(report: Any) -> dict[str, Any]:
    return {
        "model_id": report.model_id,
        "epoch": report.epoch,
        "poster": report.poster,
        "receipts": len(report.receipts),
        "payments": len(report.payments),
        "total": str(report.total),
        "accounts": len(report.amounts),
        "excluded": {k: str(v) for k, v in report.excluded.items()},
    }


def _epoch_rows(db: Transaction, cid: str, report: Any) -> None:
    # Leaf i pays the i-th account of `amounts` (kept sorted): EpochReport.claim_tree.
    for i, (account, amount) in enumerate(report.amounts.items()):
        upsert(
            db,
            "epoch_amounts",
            ("report_cid", "account"),
            report_cid=cid,
            account=_account(account),
            leaf_index=i,
            amount=str(amount),
        )


def _manifest(store: ContentStore, cid: str, _subject: int) -> Any:
    from worker.data.manifest import DatasetManifest
    from worker.datanet.versions import MAX_MANIFEST_BYTES

    return DatasetManifest.from_json(verified_fetch(store, cid, max_bytes=MAX_MANIFEST_BYTES))


def _manifest_body(manifest: Any) -> dict[str, Any]:
    """What the version page shows of a manifest besides its entries: its own fields, the root and counts
    it commits to (compared with the chain's when read: queries.version)."""
    return {
        "format": manifest.format,
        "datanet_id": manifest.datanet_id,
        "merkle_root": manifest.merkle_root(),
        "record_count": str(manifest.record_count),
        "contribution_count": str(manifest.contribution_count),
        "contributors": len({entry.contributor for entry in manifest.contributions}),
        "cid_profile": manifest.cid_profile,
    }


def _manifest_rows(db: Transaction, cid: str, manifest: Any) -> None:
    for entry in manifest.contributions:
        upsert(
            db, "manifest_entries", ("manifest_cid", "contribution_id"), manifest_cid=cid,
            contribution_id=entry.contribution_id, contributor=entry.contributor, cid=entry.cid,
            record_count=entry.record_count, byte_size=str(entry.byte_size),
        )  # fmt: skip


# kind -> (SQL listing (cid, subject) pairs still to fetch, loader, body of the loaded object, extra rows)
_KINDS: dict[str, tuple[str, Callable[[ContentStore, str, int], Any], Callable[[Any], Any], Extra | None]] = {
    "datanet_metadata": (
        "SELECT metadata_cid AS cid, id AS subject FROM datanets",
        metadata_body,
        lambda x: x,
        None,
    ),
    "review_reason": (
        "SELECT reason_cid AS cid, id AS subject FROM contributions WHERE reason_cid != ''",
        _json_document,
        lambda x: x,
        None,
    ),
    "metrics": (
        "SELECT metrics_cid AS cid, id AS subject FROM jobs WHERE metrics_cid != ''",
        _metrics,
        lambda x: x,
        None,
    ),
    "attribution_report": (
        "SELECT report_cid AS cid, id AS subject FROM jobs WHERE report_cid != ''",
        _attribution,
        attribution_body,
        attribution_rows,
    ),
    "epoch_report": (
        "SELECT report_cid AS cid, model_id AS subject FROM epochs",
        _epoch_report,
        _epoch_body,
        _epoch_rows,
    ),
    "version_manifest": (
        "SELECT manifest_cid AS cid, datanet_id AS subject FROM versions",
        _manifest,
        _manifest_body,
        _manifest_rows,
    ),
}


def _missing(db: ExplorerDatabase, kind: str, sql: str) -> list[tuple[str, int]]:
    rows = db.query(
        f"SELECT s.cid, s.subject FROM ({sql}) AS s WHERE NOT EXISTS "  # noqa: S608 - SQL from _KINDS
        "(SELECT 1 FROM content c WHERE c.cid = s.cid AND c.kind = ? AND (c.ok = 1 OR c.next_at > ?))",
        (kind, time.time()),
    )
    return list(dict((str(r["cid"]), int(r["subject"])) for r in rows).items())


def retry_delay(attempts: int) -> float:
    """Seconds before the next try of a document that failed `attempts` times: at once for the first
    FAST_ATTEMPTS, then RETRY_AFTER_S doubling up to MAX_RETRY_AFTER_S."""
    if attempts < FAST_ATTEMPTS:
        return 0.0
    return float(min(RETRY_AFTER_S * 2 ** (attempts - FAST_ATTEMPTS), MAX_RETRY_AFTER_S))


class ContentFetcher:
    """Fetches the documents the index refers to, `workers` at a time in its own threads, so a store that
    hangs on an unresolvable CID never holds up chain indexing (a slow fetch holds one worker, for at most
    the store's own timeout). Each pass waits at most `budget_s` for what it started; the rest finishes
    later and is written when it does."""

    def __init__(self, db: ExplorerDatabase, store: ContentStore, workers: int = 4, budget_s: float = 30.0):
        self.db, self.store, self.budget_s = db, store, budget_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="explorer-content")
        # (cid, kind) -> the fetch in flight and when it started (time.monotonic())
        self._running: dict[tuple[str, str], tuple[Future[None], float]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def fetch(self, budget_s: float | None = None, started_since: float | None = None) -> int:
        """Start every document that is due and not being fetched, then wait at most `budget_s` (default
        `self.budget_s`) for them: all that are running, or with `started_since` (a time.monotonic()) those
        started at or after it, by this call or another thread's; returns how many of those finished."""
        with self._lock:
            if self._closed:
                return 0
            for kind, (sql, _load, _body, _extra) in _KINDS.items():
                missing = _missing(self.db, kind, sql)
                # stamped after the query that found them: a row stored after a pass began is found by a
                # later query, so a fetch of its document is never dated before that pass
                started_at = time.monotonic()
                for cid, subject in missing:
                    if (cid, kind) not in self._running:
                        future = self._pool.submit(self._fetch_one, kind, cid, subject)
                        self._running[(cid, kind)] = (future, started_at)
            since = float("-inf") if started_since is None else started_since
            waited = [future for future, at in self._running.values() if at >= since]
        done, _ = wait(waited, timeout=self.budget_s if budget_s is None else budget_s)
        return len(done)

    def _fetch_one(self, kind: str, cid: str, subject: int) -> None:
        try:
            fetch_document(self.db, self.store, kind, cid, subject)
        except DatabaseUnavailable as exc:
            log.warning("cannot store %s %s now (retried on a later pass): %s", kind, cid, exc)
        finally:
            with self._lock:
                self._running.pop((cid, kind), None)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)


def fetch_document(db: ExplorerDatabase, store: ContentStore, kind: str, cid: str, subject: int) -> bool:
    """Load, shape and store one document; any failure (missing, corrupt, malformed, nested too deep, a
    value a column refuses) is recorded against (cid, kind) and retried later, never raised."""
    _sql, load, body, extra = _KINDS[kind]
    try:
        loaded = load(store, cid, subject)
        with db.transaction() as tx:
            upsert(
                tx, "content", ("cid", "kind"), cid=cid, kind=kind, ok=1,
                body=json.dumps(body(loaded), sort_keys=True, default=str, allow_nan=False), error="",
                attempts=1, tried_at=time.time(), next_at=0.0,
            )  # fmt: skip
            if extra is not None:
                extra(tx, cid, loaded)
    except DatabaseUnavailable:  # the index, not the document: tried again on a later pass, as it was
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a document does, the others are still loaded
        _record_failure(db, cid, kind, redact_urls(f"{type(exc).__name__}: {exc}"))
        return False
    return True


def _record_failure(db: ExplorerDatabase, cid: str, kind: str, error: str) -> None:
    log.warning("cannot load %s %s: %s", kind, cid, error)
    now = time.time()
    with db.transaction() as tx:
        row = tx.execute("SELECT attempts FROM content WHERE cid = ? AND kind = ?", (cid, kind)).one()
        attempts = int(row[0]) + 1 if row else 1
        upsert(
            tx, "content", ("cid", "kind"), cid=cid, kind=kind, ok=0, body="{}", error=error[:2000],
            attempts=attempts, tried_at=now, next_at=now + retry_delay(attempts),
        )  # fmt: skip


def cached(db: ExplorerDatabase, cid: str, kind: str) -> dict[str, Any]:
    """What the explorer knows of `cid` read as `kind` (a CID shared by two kinds of reference is fetched
    and shaped once per kind, so a review reason naming an epoch report's CID cannot change that
    report's page): {"ok": True, "body": ...} or {"ok": False, "error": ...}."""
    if not cid:
        return {"ok": False, "error": "none"}
    rows = db.query("SELECT ok, body, error FROM content WHERE cid = ? AND kind = ?", (cid, kind))
    if not rows:
        return {"ok": False, "error": "not fetched yet"}
    row = rows[0]
    return (
        {"ok": True, "body": json.loads(row["body"])} if row["ok"] else {"ok": False, "error": row["error"]}
    )
