"""Reads over the indexed tables, shaped for the API: plain dicts of JSON values, lists paginated as
{"items", "total", "limit", "offset"}. Amounts are decimal strings of token wei."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address

from worker.chain.types import EpochStatus
from worker.explorer.content import cached
from worker.explorer.schema import ExplorerDatabase
from worker.rewards import entitlement_state
from worker.serve.errors import ServeError

MAX_PAGE = 1_000


class NotIndexed(ServeError):
    """The id is not in the index (it does not exist, or the indexer has not reached it yet)."""

    status = 404
    code = "not_found"


@dataclass(frozen=True)
class Page:
    limit: int = 50
    offset: int = 0

    def sql(self) -> tuple[int, int]:
        return self.limit, self.offset


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


def _paged(db: ExplorerDatabase, sql: str, params: tuple[Any, ...], page: Page) -> dict[str, Any]:
    total = int(db.query(f"SELECT COUNT(*) AS n FROM ({sql}) AS listed", params)[0]["n"])  # noqa: S608
    items = _rows(db.query(f"{sql} LIMIT ? OFFSET ?", (*params, *page.sql())))
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


def _one(db: ExplorerDatabase, sql: str, params: tuple[Any, ...], what: str) -> dict[str, Any]:
    rows = db.query(sql, params)
    if not rows:
        raise NotIndexed(f"{what} is not indexed (unknown, or not reached by the indexer yet)")
    return dict(rows[0])


def _time(db: ExplorerDatabase, block: int) -> int | None:
    rows = db.query("SELECT timestamp FROM block_times WHERE number = ?", (block,))
    return int(rows[0]["timestamp"]) if rows else None


def status(db: ExplorerDatabase) -> dict[str, Any]:
    cursor = db.query("SELECT block FROM cursor WHERE id = 1")
    counts = {
        table: int(db.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])  # noqa: S608 - constant names
        for table in ("datanets", "contributions", "models", "jobs", "payments", "epochs", "claims")
    }
    problems = db.query(
        "SELECT block, log_index, contract, name, tx, error FROM indexing_problems ORDER BY block DESC, "
        "log_index DESC LIMIT 20"
    )
    return {
        "indexed_block": int(cursor[0]["block"]) if cursor else None,
        "counts": counts,
        "indexing_problems": _rows(problems),  # events skipped because they could not be indexed
    }


# -- datanets and contributions --------------------------------------------------------------------


def _datanet_name(db: ExplorerDatabase, row: dict[str, Any]) -> dict[str, Any]:
    metadata = cached(db, row["metadata_cid"], "datanet_metadata")
    body = metadata.get("body") or {}
    return {**row, "name": body.get("name"), "task": body.get("task"), "licence": body.get("licence")}


def datanets(db: ExplorerDatabase, page: Page) -> dict[str, Any]:
    listed = _paged(db, "SELECT * FROM datanets ORDER BY id", (), page)
    listed["items"] = [_datanet_name(db, row) for row in listed["items"]]
    return listed


def datanet(db: ExplorerDatabase, datanet_id: int) -> dict[str, Any]:
    row = _one(db, "SELECT * FROM datanets WHERE id = ?", (datanet_id,), f"datanet {datanet_id}")
    curators = db.query("SELECT curator FROM curators WHERE datanet_id = ? AND enabled = 1", (datanet_id,))
    versions = db.query("SELECT * FROM versions WHERE datanet_id = ? ORDER BY version_id", (datanet_id,))
    by_status: dict[str, dict[str, Any]] = {}
    for r in db.query("SELECT status, record_count FROM contributions WHERE datanet_id = ?", (datanet_id,)):
        entry = by_status.setdefault(r["status"], {"count": 0, "records": 0})
        entry["count"] += 1
        entry["records"] += int(r["record_count"])  # declared by each contributor: any uint64, summed exactly
    models = db.query(
        "SELECT id, version_id, base_model, live FROM models WHERE datanet_id = ? ORDER BY id", (datanet_id,)
    )
    return {
        **row,
        "metadata": cached(db, row["metadata_cid"], "datanet_metadata"),
        "curators": sorted(r["curator"] for r in curators),  # in Python: one order whatever the collation
        "versions": _rows(versions),
        "by_status": {k: {**v, "records": str(v["records"])} for k, v in by_status.items()},
        "models": _rows(models),
    }


def contributions(
    db: ExplorerDatabase, page: Page, datanet_id: int | None = None, contributor: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    where, params = [], []
    for column, value in (("datanet_id", datanet_id), ("contributor", contributor), ("status", status)):
        if value is not None:
            where.append(f"{column} = ?")  # addresses are stored checksummed: `=` on the index
            params.append(value)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return _paged(db, f"SELECT * FROM contributions {clause} ORDER BY id", tuple(params), page)


def contribution(db: ExplorerDatabase, contribution_id: int) -> dict[str, Any]:
    row = _one(
        db, "SELECT * FROM contributions WHERE id = ?", (contribution_id,), f"contribution #{contribution_id}"
    )
    shares = db.query(
        "SELECT j.model_id, j.id AS job_id, a.* FROM attribution a JOIN jobs j ON j.report_cid "
        "= a.report_cid "
        "WHERE a.party = 'contribution' AND a.key = ? ORDER BY j.model_id, j.id",
        (str(contribution_id),),
    )
    return {**row, "reason": cached(db, row["reason_cid"], "review_reason"), "attribution": _rows(shares)}


# -- versions and their manifests ----------------------------------------------------------------

_ENTRY_MISMATCH = (
    "c.id IS NULL OR c.datanet_id != ? OR c.contributor != m.contributor OR c.cid != m.cid "
    "OR c.record_count != CAST(m.record_count AS TEXT)"
)


def version(db: ExplorerDatabase, datanet_id: int, version_id: int) -> dict[str, Any]:
    """A version with its manifest (read from content storage, checked against the root and counts the
    chain recorded), its contributors, the Datanet's schema and licence, and the models trained on it."""
    row = _one(
        db, "SELECT * FROM versions WHERE datanet_id = ? AND version_id = ?", (datanet_id, version_id),
        f"version {version_id} of datanet {datanet_id}",
    )  # fmt: skip
    manifest = cached(db, row["manifest_cid"], "version_manifest")
    datanet = db.query("SELECT metadata_cid FROM datanets WHERE id = ?", (datanet_id,))
    metadata: dict[str, Any] = (
        cached(db, datanet[0]["metadata_cid"], "datanet_metadata") if datanet else {"ok": False}
    )
    body = dict(metadata["body"]) if metadata.get("ok") else {}
    contributors = db.query(
        "SELECT contributor, COUNT(*) AS contributions, SUM(record_count) AS records FROM manifest_entries "
        "WHERE manifest_cid = ? GROUP BY contributor ORDER BY SUM(record_count) DESC, lower(contributor) "
        "LIMIT ?",
        (row["manifest_cid"], MAX_PAGE),
    )
    mismatched = db.query(
        "SELECT COUNT(*) AS n FROM manifest_entries m LEFT JOIN contributions c ON c.id = m.contribution_id "
        f"WHERE m.manifest_cid = ? AND ({_ENTRY_MISMATCH})",  # noqa: S608 - a constant
        (row["manifest_cid"], datanet_id),
    )
    models = db.query(
        "SELECT id, base_model, live FROM models WHERE datanet_id = ? AND version_id = ? ORDER BY id",
        (datanet_id, version_id),
    )
    return {
        **row,
        "published": _time(db, row["block"]),
        "manifest": manifest,
        "manifest_check": _manifest_check(row, manifest),
        "entries_not_in_registry": int(mismatched[0]["n"]) if manifest.get("ok") else None,
        "contributors": [
            {**r, "records": str(int(r["records"] or 0))}
            for r in contributors  # SUM: exact, one type
        ],
        "licence": body.get("licence"),
        "schema": body.get("schema"),
        "task": body.get("task"),
        "metadata_cid": datanet[0]["metadata_cid"] if datanet else None,
        "models": _rows(models),
    }


def _manifest_check(row: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """Does the manifest read from storage commit to what the chain recorded for the version?"""
    if not manifest.get("ok"):
        return {"checked": False, "problems": []}
    body, problems = manifest["body"], []
    if int(body["datanet_id"]) != int(row["datanet_id"]):
        problems.append(f"describes datanet {body['datanet_id']}, not {row['datanet_id']}")
    if str(body["merkle_root"]).lower() != str(row["merkle_root"]).lower():
        problems.append(f"Merkle root {body['merkle_root']}, the chain recorded {row['merkle_root']}")
    counts = (str(body["record_count"]), str(body["contribution_count"]))
    if counts != (str(row["record_count"]), str(row["contribution_count"])):
        problems.append(
            f"{counts[1]} contributions / {counts[0]} records, the chain recorded "
            f"{row['contribution_count']} / {row['record_count']}"
        )
    return {"checked": True, "problems": problems}


def version_entries(db: ExplorerDatabase, datanet_id: int, version_id: int, page: Page) -> dict[str, Any]:
    """The manifest's contributions (by id), each with its status in the registry and whether the
    registry's contribution of that id is the one listed (same Datanet, contributor, CID, records)."""
    row = _one(
        db, "SELECT manifest_cid FROM versions WHERE datanet_id = ? AND version_id = ?",
        (datanet_id, version_id), f"version {version_id} of datanet {datanet_id}",
    )  # fmt: skip
    listed = _paged(
        db,
        "SELECT m.contribution_id, m.contributor, m.cid, m.record_count, m.byte_size, c.status, "
        f"CASE WHEN {_ENTRY_MISMATCH} THEN 0 ELSE 1 END AS in_registry FROM manifest_entries m "
        "LEFT JOIN contributions c ON c.id = m.contribution_id WHERE m.manifest_cid = ? "
        "ORDER BY m.contribution_id",
        (datanet_id, row["manifest_cid"]),
        page,
    )
    listed["items"] = [
        {**r, "record_count": str(r["record_count"]), "in_registry": bool(r["in_registry"])}
        for r in listed["items"]
    ]
    return listed


# -- models, jobs, attribution ----------------------------------------------------------------------


def models(db: ExplorerDatabase, page: Page) -> dict[str, Any]:
    return _paged(db, "SELECT * FROM models ORDER BY id", (), page)


def _job(db: ExplorerDatabase, job: dict[str, Any]) -> dict[str, Any]:
    events = db.query(
        "SELECT e.*, t.timestamp FROM job_events e LEFT JOIN block_times t ON t.number = e.block "
        "WHERE job_id = ? ORDER BY block, log_index",
        (job["id"],),
    )
    timeline = [{**dict(e), "detail": json.loads(e["detail"])} for e in events]
    return {**job, "timeline": timeline, "metrics": cached(db, job["metrics_cid"], "metrics")}


def _result_job(db: ExplorerDatabase, model: dict[str, Any]) -> dict[str, Any] | None:
    """The job whose result the model page shows: the live one, else the latest with a result."""
    if model["live_job_id"]:
        rows = db.query("SELECT * FROM jobs WHERE id = ?", (model["live_job_id"],))
    else:
        rows = db.query(
            "SELECT * FROM jobs WHERE model_id = ? AND report_cid != '' ORDER BY id DESC LIMIT 1",
            (model["id"],),
        )
    return dict(rows[0]) if rows else None


def model(db: ExplorerDatabase, model_id: int) -> dict[str, Any]:
    row = _one(db, "SELECT * FROM models WHERE id = ?", (model_id,), f"model {model_id}")
    jobs = [
        _job(db, dict(j)) for j in db.query("SELECT * FROM jobs WHERE model_id = ? ORDER BY id", (model_id,))
    ]
    result = _result_job(db, row)
    counts = [int(r["request_count"]) for r in db.query(
        "SELECT request_count FROM payments WHERE model_id = ?", (model_id,)
    )]  # fmt: skip
    stats = {"payments": len(counts), "requests": str(sum(counts))}  # any uint256 each: summed exactly
    datanet = db.query("SELECT metadata_cid FROM datanets WHERE id = ?", (row["datanet_id"],))
    metadata: dict[str, Any] = (
        cached(db, datanet[0]["metadata_cid"], "datanet_metadata") if datanet else {"ok": False}
    )
    return {
        **row,
        "task": dict(metadata.get("body") or {}).get("task"),  # the paid API: predict, or completions
        "jobs": jobs,
        "result_job_id": result["id"] if result else None,
        "metrics": (
            cached(db, result["metrics_cid"], "metrics")
            if result
            else {"ok": False, "error": "no result yet"}
        ),
        "payments": stats,
        "registered_at": _time(db, row["block"]),
        # models fine-tuned from this one (lineage payouts send them a share of their contributor pools)
        "derived": [int(r["id"]) for r in db.query(
            "SELECT id FROM models WHERE parent_model_id = ? ORDER BY id", (model_id,)
        )],  # fmt: skip
    }


def attribution(db: ExplorerDatabase, model_id: int, party: str, page: Page) -> dict[str, Any]:
    row = _one(db, "SELECT * FROM models WHERE id = ?", (model_id,), f"model {model_id}")
    result = _result_job(db, row)
    if result is None:
        return {"items": [], "total": 0, "limit": page.limit, "offset": page.offset, "report": None}
    listed = _paged(
        db,
        "SELECT key, records, positive, negative, weight, flagged, model_level FROM attribution "
        "WHERE report_cid = ? AND party = ? ORDER BY weight DESC, lower(key)",
        (result["report_cid"], party),
        page,
    )
    report = cached(db, result["report_cid"], "attribution_report")
    return {**listed, "job_id": result["id"], "report_cid": result["report_cid"], "report": report}


# -- epochs, claims and accounts -------------------------------------------------------------------


def epochs(db: ExplorerDatabase, page: Page, model_id: int | None = None) -> dict[str, Any]:
    where, params = ("WHERE e.model_id = ?", (model_id,)) if model_id is not None else ("", ())
    return _paged(
        db,
        "SELECT e.*, t.timestamp AS posted_at, (SELECT COUNT(*) FROM claims c WHERE c.model_id "
        "= e.model_id AND "
        f"c.epoch = e.epoch) AS claims FROM epochs e LEFT JOIN block_times t ON t.number = e.block {where} "
        "ORDER BY e.model_id, e.epoch",
        params,
        page,
    )


def epoch(db: ExplorerDatabase, model_id: int, number: int) -> dict[str, Any]:
    row = _one(
        db, "SELECT * FROM epochs WHERE model_id = ? AND epoch = ?", (model_id, number),
        f"epoch {number} of model {model_id}",
    )  # fmt: skip
    amounts = db.query(
        "SELECT a.account, a.leaf_index, a.amount, c.tx AS claim_tx FROM epoch_amounts a LEFT JOIN claims c "
        "ON c.model_id = ? AND c.epoch = ? AND c.leaf_index = CAST(a.leaf_index AS TEXT) "
        "WHERE a.report_cid = ? "
        "ORDER BY a.leaf_index",
        (model_id, number, row["report_cid"]),
    )
    return {**row, "report": cached(db, row["report_cid"], "epoch_report"), "amounts": _rows(amounts)}


def _entitlements(db: ExplorerDatabase, account: str, now: int) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT e.model_id, e.epoch, e.status, e.challenge_deadline, e.claim_deadline, "
        "a.leaf_index, a.amount, "
        "t.timestamp AS posted_at, c.tx AS claim_tx FROM epoch_amounts a JOIN epochs e ON "
        "e.report_cid = a.report_cid "
        "LEFT JOIN claims c ON c.model_id = e.model_id AND c.epoch = e.epoch "
        "AND c.leaf_index = CAST(a.leaf_index AS TEXT) "
        "LEFT JOIN block_times t ON t.number = e.block WHERE a.account = ? "
        "ORDER BY e.block, e.model_id, e.epoch",
        (account,),
    )
    return [{**dict(r), "state": _claim_state(dict(r), now)} for r in rows]


def _claim_state(row: dict[str, Any], now: int) -> str:
    """worker.rewards' entitlement states (claimable, expired, in challenge window...), from the index."""
    status = EpochStatus[str(row["status"]).upper()]
    deadline = row["claim_deadline"] if status == EpochStatus.FINALIZED else row["challenge_deadline"]
    return entitlement_state(status, bool(row["claim_tx"]), now, int(deadline or 0))


def account(db: ExplorerDatabase, address: str, now: int) -> dict[str, Any]:
    """Everything of `address`; addresses are stored checksummed, so lookups are `=` on an index."""
    address = to_checksum_address(address)
    mine = db.query(
        "SELECT c.*, d.metadata_cid FROM contributions c JOIN datanets d ON d.id = c.datanet_id "
        "WHERE c.contributor = ? ORDER BY c.id",
        (address,),
    )
    shares = db.query(
        "SELECT j.model_id, j.id AS job_id, a.weight, a.records, a.positive, a.negative, "
        "a.flagged, a.model_level "
        "FROM attribution a JOIN jobs j ON j.report_cid = a.report_cid "
        "WHERE a.party = 'contributor' AND a.key = ? ORDER BY j.model_id, j.id",
        (address,),
    )
    credits = sorted(  # by contract name, in Python: one order whatever the database's collation
        db.query("SELECT contract, balance, credited, withdrawn FROM credits WHERE account = ?", (address,)),
        key=lambda row: str(row["contract"]),
    )
    payments = db.query("SELECT * FROM payments WHERE payer = ? ORDER BY id DESC LIMIT 50", (address,))
    entitlements = _entitlements(db, address, now)
    claimable = sum(int(e["amount"]) for e in entitlements if e["state"] == "claimable")
    withdrawable = sum(int(c["balance"]) for c in credits)
    return {
        "address": address,
        "now": now,
        "contributions": _rows(mine),
        "attribution": _rows(shares),
        "earnings": entitlements,
        "claimable": str(claimable),
        "withdrawable": str(withdrawable),
        "credits": _rows(credits),
        "payments": _rows(payments),
    }


def workers(db: ExplorerDatabase, page: Page) -> dict[str, Any]:
    return _paged(db, "SELECT * FROM workers ORDER BY registered_at, lower(address)", (), page)
