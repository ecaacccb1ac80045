"""Off-chain content the pages show, fetched from content storage (every byte verified against the CID the
chain recorded) by the readers the CLI uses, and cached by CID: content is immutable, so a cached
document never goes stale and survives reorgs. A fetch that fails, or a document that does not parse, is
recorded with its error (the page says what is missing) and retried: on the next passes, then once a
minute, never blocking the other documents.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from worker.errors import OpenLedgerError
from worker.explorer.schema import ExplorerDatabase
from worker.storage import ContentStore, verified_fetch

log = logging.getLogger("openledger.explorer")
# A document that failed is retried on the next passes, then once every RETRY_AFTER_S (content may reach the
# store later: a contributor's node coming back, IPFS_API pointed at another node).
FAST_ATTEMPTS = 5
RETRY_AFTER_S = 60.0
MAX_REASON_BYTES = 64 * 1024
EVIDENCE_QUERIES = 20  # queries of an attribution report whose top records and spans are kept as evidence

Extra = Callable[[sqlite3.Connection, str, Any], None]


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
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"text": data.decode("utf-8", "replace")}
    return document if isinstance(document, dict) else {"value": document}


def _metrics(store: ContentStore, cid: str, _subject: int) -> dict[str, Any]:
    from worker.jobs.models import result_metrics, validation_accuracy

    metrics = result_metrics(store, cid)
    return {"metrics": metrics, "validation_accuracy": validation_accuracy(metrics)}


def _attribution(store: ContentStore, cid: str, _subject: int) -> Any:
    from worker.attribution import AttributionReport
    from worker.serve.loading import MAX_ATTRIBUTION_REPORT

    raw = verified_fetch(store, cid, max_bytes=MAX_ATTRIBUTION_REPORT)
    return AttributionReport.from_dict(json.loads(raw))


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


def attribution_rows(db: sqlite3.Connection, cid: str, report: Any) -> None:
    model_level = {p.key: p.net for p in report.model_level_contributors()}
    summary = report.summary or {}
    for party, rows in (
        ("contributor", summary.get("contributors", [])),
        ("contribution", summary.get("contributions", [])),
    ):
        db.executemany(
            "INSERT OR REPLACE INTO attribution (report_cid, party, key, records, positive, "
            "negative, weight, "
            "flagged, model_level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    cid, party, str(r["key"]), int(r.get("records", 0)), float(r.get("positive", 0.0)),
                    float(r.get("negative", 0.0)), float(r.get("weight", 0.0)), int(bool(r.get("flagged"))),
                    model_level.get(str(r["key"])) if party == "contributor" else None,
                )
                for r in rows
            ],
        )  # fmt: skip


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


def _epoch_rows(db: sqlite3.Connection, cid: str, report: Any) -> None:
    # Leaf i pays the i-th account of `amounts` (kept sorted): EpochReport.claim_tree.
    db.executemany(
        "INSERT OR REPLACE INTO epoch_amounts (report_cid, account, leaf_index, amount) VALUES (?, ?, ?, ?)",
        [(cid, account, i, str(amount)) for i, (account, amount) in enumerate(report.amounts.items())],
    )


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
}


def _missing(db: ExplorerDatabase, sql: str) -> list[tuple[str, int]]:
    rows = db.query(
        f"SELECT s.cid, s.subject FROM ({sql}) AS s WHERE NOT EXISTS "  # noqa: S608 - SQL from _KINDS
        "(SELECT 1 FROM content c WHERE c.cid = s.cid "
        "AND (c.ok = 1 OR (c.attempts >= ? AND c.tried_at > ?)))",
        (FAST_ATTEMPTS, time.time() - RETRY_AFTER_S),
    )
    return [(str(r[0]), int(r[1])) for r in rows]


def fetch_pending(db: ExplorerDatabase, store: ContentStore) -> int:
    """Fetch every referenced document not cached yet; returns how many were fetched (or failed)."""
    done = 0
    for kind, (sql, load, body, extra) in _KINDS.items():
        for cid, subject in dict(_missing(db, sql)).items():
            try:
                loaded = load(store, cid, subject)
            except (OpenLedgerError, ValueError, KeyError, TypeError) as exc:  # missing, corrupt, malformed
                _record_failure(db, cid, kind, f"{type(exc).__name__}: {exc}")
            else:
                with db.transaction() as tx:
                    tx.execute(
                        "INSERT OR REPLACE INTO content (cid, kind, ok, body, error) VALUES (?, ?, 1, ?, '')",
                        (cid, kind, json.dumps(body(loaded), sort_keys=True, default=str)),
                    )
                    if extra is not None:
                        extra(tx, cid, loaded)
            done += 1
    return done


def _record_failure(db: ExplorerDatabase, cid: str, kind: str, error: str) -> None:
    log.warning("cannot load %s %s: %s", kind, cid, error)
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO content (cid, kind, ok, body, error, tried_at) VALUES (?, ?, 0, '{}', ?, ?) "
            "ON CONFLICT(cid) DO UPDATE SET attempts = attempts + 1, error = excluded.error, "
            "tried_at = excluded.tried_at",
            (cid, kind, error[:2000], time.time()),
        )


def cached(db: ExplorerDatabase, cid: str) -> dict[str, Any]:
    """What the explorer knows of `cid`: {"ok": True, "body": ...} or {"ok": False, "error": ...}."""
    if not cid:
        return {"ok": False, "error": "none"}
    rows = db.query("SELECT ok, body, error FROM content WHERE cid = ?", (cid,))
    if not rows:
        return {"ok": False, "error": "not fetched yet"}
    row = rows[0]
    return (
        {"ok": True, "body": json.loads(row["body"])} if row["ok"] else {"ok": False, "error": row["error"]}
    )
