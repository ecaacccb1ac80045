"""Attacks on the indexer, each performed on a real Anvil (the review of the explorer): values no SQLite
integer holds, an event a handler cannot apply, documents built to crash the loaders, a content store
that never answers, an RPC URL with a key in it, a CID shared by two kinds of reference, addresses in
another case."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rpc_proxy import RpcProxy
from web3 import Web3
from workerworld import World

from worker.chain.accounts import ReadOnlySigner
from worker.chain.client import ChainClient
from worker.chain.types import Policy
from worker.datanet.creating import build_metadata
from worker.errors import redact_urls
from worker.explorer import ExplorerDatabase, ExplorerService, Indexer, IndexerSettings, queries
from worker.explorer import handlers as explorer_handlers
from worker.explorer.content import (
    FAST_ATTEMPTS,
    MAX_RETRY_AFTER_S,
    RETRY_AFTER_S,
    fetch_document,
    retry_delay,
)
from worker.explorer.indexer import WrongIndex
from worker.explorer.schema import EXPLORER_SCHEMA_VERSION
from worker.storage import ContentStore

HUGE = 2**64 - 1  # a uint64 anyone may declare for their own contribution: beyond SQLite's 2**63 - 1


def _indexer(world: World, path: str | Path, store: ContentStore | None = None, **settings: Any) -> Indexer:
    client = world.client(0).as_account(ReadOnlySigner())
    return Indexer(client, store or world.store, ExplorerDatabase(path), IndexerSettings(**settings))


def _own_datanet(world: World, name: str = "mine", index: int = 1) -> int:
    metadata = build_metadata(name=name, task="classification", labels=["a", "b"], licence="MIT")
    cid = world.store.add(metadata.canonical_json())
    owner = world.client(index)  # its own curator
    return owner.datanets.create_datanet(cid, owner.address, Policy(0, 60, 0), [owner.address]).created_id


def _row(indexer: Indexer, sql: str, *params: Any) -> dict[str, Any]:
    return dict(indexer.db.query(sql, params)[0])


def test_a_uint64_beyond_sqlite_integers_is_indexed_exactly(world: World, tmp_path: Path) -> None:
    datanet = _own_datanet(world)
    owner = world.client(1)
    records = 2**32 - 1  # recordCount is a uint32
    huge = owner.datanets.contribute(datanet, world.store.add(b"huge"), HUGE, records).created_id
    after = owner.datanets.contribute(datanet, world.store.add(b"after"), 5, 1).created_id
    indexer = _indexer(world, tmp_path / "index.sqlite")
    indexer.poll()
    assert indexer.cursor() == world.chain.w3.eth.block_number  # indexing went on past the event
    row = _row(indexer, "SELECT byte_size, record_count FROM contributions WHERE id = ?", huge)
    assert (row["byte_size"], row["record_count"]) == (str(HUGE), str(records))
    assert _row(indexer, "SELECT byte_size FROM contributions WHERE id = ?", after)["byte_size"] == "5"
    page = queries.datanet(indexer.db, datanet)
    assert page["by_status"]["pending"] == {"count": 2, "records": str(records + 1)}  # summed exactly


def test_an_event_a_handler_cannot_apply_is_recorded_and_skipped(
    world: World, index_at: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On both backends, with a statement the database itself refuses (PostgreSQL then refuses every
    statement of the transaction until the event's SAVEPOINT is rolled back)."""
    datanet = _own_datanet(world)
    owner = world.client(1)
    bad = owner.datanets.contribute(datanet, world.store.add(b"bad"), 7, 7).created_id
    good = owner.datanets.contribute(datanet, world.store.add(b"good"), 8, 8).created_id
    key = ("DatanetRegistry", "ContributionSubmitted")
    original = explorer_handlers.HANDLERS[key]

    def overflowing(db: Any, event: Any) -> None:  # what a uint64 in an integer column did before the fix
        original(db, event)
        if int(event["contributionId"]) == bad:
            db.execute("UPDATE contributions SET submitted_at = ? WHERE id = ?", (2**64 - 1, bad))

    monkeypatch.setitem(explorer_handlers.HANDLERS, key, overflowing)
    indexer = _indexer(world, index_at("index"))
    indexer.poll()
    assert indexer.cursor() == world.chain.w3.eth.block_number  # the batch was not rolled back
    ids = {r["id"] for r in indexer.db.query("SELECT id FROM contributions WHERE datanet_id = ?", (datanet,))}
    assert good in ids and bad not in ids  # the bad event's writes were rolled back alone
    problems = queries.status(indexer.db)["indexing_problems"]
    assert [p["name"] for p in problems] == ["ContributionSubmitted"], problems
    assert "DatabaseError" in problems[0]["error"], problems
    assert indexer.poll().poll.events == 0  # not retried forever either


def test_documents_built_to_crash_the_loaders_do_not_stop_content_loading(
    world: World, tmp_path: Path
) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000  # json.loads: RecursionError
    owner = world.client(1)
    deep_metadata = owner.datanets.create_datanet(world.store.add(deep), owner.address, Policy(0, 60, 0))
    datanet = _own_datanet(world, "after the bad ones")
    contribution = world.client(3).datanets.contribute(datanet, world.store.add(b"x"), 1, 1).created_id
    deep_reason = b"[" * 30_000 + b"]" * 30_000  # under the 64 KiB a reason may have, deeper than Python
    owner.datanets.review(contribution, False, world.store.add(deep_reason))
    indexer = _indexer(world, tmp_path / "index.sqlite")
    indexer.poll()
    failed = _row(indexer, "SELECT ok, error FROM content WHERE kind = 'datanet_metadata' AND cid = ?",
                  world.client(0).datanets.get_datanet(deep_metadata.created_id).metadata_cid)  # fmt: skip
    assert failed["ok"] == 0 and failed["error"]  # recorded; the documents after it still load
    reason = queries.contribution(indexer.db, contribution)["reason"]
    assert reason["ok"] is False and "deeper than" in reason["error"]
    assert queries.datanet(indexer.db, datanet)["metadata"]["body"]["name"] == "after the bad ones"
    # A malformed report (AttributeError when read) is recorded too, not raised.
    listed = world.store.add(b"[1, 2, 3]")
    assert fetch_document(indexer.db, world.store, "attribution_report", listed, 1) is False
    row = _row(indexer, "SELECT ok, error FROM content WHERE cid = ? AND kind = 'attribution_report'", listed)
    assert row["ok"] == 0 and row["error"]


class HangingStore:
    """The explorer's store, except that one CID does not arrive until `release`, or for `hold_s` (an
    unresolvable CID on a Kubo node holds a fetch for its whole timeout; a slow one for a while)."""

    def __init__(self, store: ContentStore, cid: str, hold_s: float = 60.0):
        self._store, self.cid, self.hold_s = store, cid, hold_s
        self.release, self.waiting = threading.Event(), threading.Event()

    def cat_iter(self, cid: str, *args: Any) -> Iterator[bytes]:
        if cid == self.cid:
            self.waiting.set()
            self.release.wait(self.hold_s)
        return self._store.cat_iter(cid, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_content_store_that_hangs_does_not_freeze_chain_indexing(world: World, tmp_path: Path) -> None:
    metadata = build_metadata(name="slow", task="classification", labels=["a", "b"], licence="MIT")
    slow_cid = world.store.add(metadata.canonical_json())
    owner = world.client(1)
    owner.datanets.create_datanet(slow_cid, owner.address, Policy(0, 60, 0))
    store = HangingStore(world.store, slow_cid)
    indexer = _indexer(world, tmp_path / "index.sqlite", store, poll_seconds=0.1, content_budget_s=0.2)
    stop = threading.Event()
    indexer.start(stop)
    try:
        assert store.waiting.wait(30)  # the content thread is stuck on the slow CID...
        later = _own_datanet(world, "later")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not indexer.db.query(
            "SELECT 1 FROM datanets WHERE id = ?", (later,)
        ):
            time.sleep(0.1)
        assert indexer.db.query("SELECT 1 FROM datanets WHERE id = ?", (later,))  # ...blocks still indexed
        assert not store.release.is_set()
    finally:
        store.release.set()
        stop.set()


@pytest.mark.parametrize("pass_fails_after_storing", [False, True])
def test_a_transactions_block_counts_as_indexed_only_once_its_documents_are_in(
    world: World, tmp_path: Path, pass_fails_after_storing: bool
) -> None:
    """The chain cursor moves before the documents its rows name are fetched: a page that waited for the
    cursor alone showed a review's reason as "not fetched yet". `documents_block` (what `/api/status`
    gives the page to wait on) covers a block only once its documents are in, whichever of the two
    threads fetched them, also when the pass that stored the rows failed after (an RPC error dating the
    blocks) and the content thread started their documents before the next pass."""
    owner = world.client(1)
    name = f"reviewed-{pass_fails_after_storing}"
    datanet = _own_datanet(world, name)
    contribution = (
        world.client(3).datanets.contribute(datanet, world.store.add(name.encode()), 1, 1).created_id
    )
    reason = world.store.add(f'{{"reason": "a near copy of {name}"}}'.encode())
    store = HangingStore(world.store, reason, hold_s=1.0)  # a slow CID, found after a second
    indexer = _indexer(world, tmp_path / "index.sqlite", store, poll_seconds=0.05, content_wait_s=10.0)
    fail_next = threading.Event()
    real_date_blocks = indexer._date_blocks

    def date_blocks() -> int:
        if fail_next.is_set():
            fail_next.clear()
            raise ConnectionError("the RPC went away after the rows were stored")
        return real_date_blocks()

    indexer._date_blocks = date_blocks  # type: ignore[method-assign]
    stop = threading.Event()
    indexer.start(stop)
    try:
        deadline = time.monotonic() + 30
        while indexer.documents_block is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if pass_fails_after_storing:
            fail_next.set()
        block = owner.datanets.review(contribution, False, reason).block_number
        gap = False  # the cursor past the review while its reason is still being fetched
        while time.monotonic() < deadline:
            covered = (indexer.documents_block or -1) >= block
            shown = queries.contribution(indexer.db, contribution)["reason"]
            if covered:
                break
            gap = gap or (indexer.cursor() >= block and not shown["ok"])
            time.sleep(0.02)
        assert covered, "documents_block never reached the review's block"
        assert shown == {"ok": True, "body": {"reason": f"a near copy of {name}"}}, shown
        assert gap and store.waiting.is_set()  # the race was there to lose
        assert not fail_next.is_set()  # the failing pass happened
    finally:
        stop.set()


def test_a_failing_document_fetch_does_not_stop_chain_indexing(world: World, tmp_path: Path) -> None:
    """An error from fetching the new rows' documents (a bug, or a database error that is not an outage)
    is logged and shown, and the next passes go on indexing; the block is covered once a fetch works."""
    indexer = _indexer(world, tmp_path / "index.sqlite", poll_seconds=0.05)
    real_fetch, failures = indexer.content.fetch, []

    def fetch(budget_s: float | None = None, started_since: float | None = None) -> int:
        if started_since is not None and len(failures) < 3:  # the pass's own fetch, thrice
            failures.append(1)
            raise RuntimeError("a bug in a loader")
        return real_fetch(budget_s, started_since)

    indexer.content.fetch = fetch  # type: ignore[method-assign]
    stop = threading.Event()
    thread = indexer.start(stop)
    try:
        later = _own_datanet(world, "after-the-failures")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            len(failures) == 3
            and indexer.db.query("SELECT 1 FROM datanets WHERE id = ?", (later,))
            and (indexer.documents_block or -1) >= indexer.cursor()
        ):
            time.sleep(0.05)
        assert len(failures) == 3 and thread.is_alive()
        assert indexer.db.query("SELECT 1 FROM datanets WHERE id = ?", (later,))
        assert (indexer.documents_block or -1) >= indexer.cursor()
    finally:
        stop.set()


def test_a_fetch_another_thread_starts_after_a_pass_began_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The content thread's fetch began before the pass and found the pass's new row in a later query
    (its queries run one kind after another): that fetch is dated by the query that found it, so the
    indexer's fetch after the pass waits for it instead of counting the row's document as in."""
    from worker.explorer import content

    querying, stored = threading.Event(), threading.Event()
    real_missing = content._missing

    def missing(db: ExplorerDatabase, kind: str, sql: str) -> list[tuple[str, int]]:
        if threading.current_thread().name == "content-pass" and kind == "datanet_metadata":
            querying.set()
            assert stored.wait(30)  # the first kind's query still running when the pass stores its row
        return real_missing(db, kind, sql)

    sql, _load, body, extra = content._KINDS["review_reason"]

    def slow_reason(store: Any, cid: str, subject: int) -> dict[str, str]:
        time.sleep(1.0)
        return {"reason": "a near copy"}

    monkeypatch.setattr(content, "_missing", missing)
    monkeypatch.setitem(content._KINDS, "review_reason", (sql, slow_reason, body, extra))
    db = ExplorerDatabase(tmp_path / "index.sqlite")
    fetcher = content.ContentFetcher(db, store=None, workers=2)  # type: ignore[arg-type]
    other = threading.Thread(target=fetcher.fetch, name="content-pass")
    other.start()
    try:
        assert querying.wait(30)
        began = time.monotonic()  # Indexer.run: a pass begins, its follower stores a reviewed contribution
        with db.transaction() as tx:
            tx.execute(
                "INSERT INTO contributions (id, datanet_id, contributor, cid, byte_size, record_count, stake,"
                " submitted_at, status, reason_cid, block, tx) VALUES (1, 1, 'a', 'c', '1', '1', '0', 0,"
                " 'rejected', 'bafyreason', 5, '0x')"
            )
        stored.set()
        fetcher.fetch(10.0, started_since=began)  # what the pass waits for before moving documents_block
        assert content.cached(db, "bafyreason", "review_reason") == {
            "ok": True,
            "body": {"reason": "a near copy"},
        }
    finally:
        stored.set()
        other.join(30)
        fetcher.close()


def test_a_document_that_keeps_failing_backs_off_to_hours(world: World, tmp_path: Path) -> None:
    assert [retry_delay(n) for n in range(FAST_ATTEMPTS)] == [0.0] * FAST_ATTEMPTS
    assert retry_delay(FAST_ATTEMPTS) == RETRY_AFTER_S and retry_delay(FAST_ATTEMPTS + 1) == 2 * RETRY_AFTER_S
    assert retry_delay(1_000) == MAX_RETRY_AFTER_S == 6 * 3600
    missing = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"  # in no store
    owner = world.client(1)
    owner.datanets.create_datanet(missing, owner.address, Policy(0, 60, 0))
    indexer = _indexer(world, tmp_path / "index.sqlite")
    for _ in range(FAST_ATTEMPTS + 2):
        indexer.poll()
    row = _row(indexer, "SELECT attempts, next_at FROM content WHERE cid = ?", missing)
    assert row["attempts"] == FAST_ATTEMPTS and row["next_at"] > time.time() + RETRY_AFTER_S / 2


def test_an_rpc_url_with_a_key_never_reaches_the_status_page(world: World, tmp_path: Path) -> None:
    secret = "v3/4f9c0ffee-SECRET-KEY"
    with RpcProxy(world.chain.w3.provider.endpoint_uri) as proxy:  # type: ignore[attr-defined]
        url = f"http://user:hunter2@{proxy.url.removeprefix('http://')}/{secret}?key=KEY2"
        client = ChainClient(Web3(Web3.HTTPProvider(url)), ReadOnlySigner(), world.client(0).deployment)
        service = ExplorerService.open(client, world.store, tmp_path / "index.sqlite")
        proxy.down()  # the node goes away: the error names the URL
        assert service.indexer.step() is False
    shown = str(service.status())
    assert service.status()["indexer_error"] and "127.0.0.1" in shown
    for leak in ("SECRET-KEY", "KEY2", "hunter2", "v3/"):
        assert leak not in shown, shown
    assert (
        redact_urls("https://rpc.example/v2/abc?x=1 and ws://u:p@h:1/k") == "https://rpc.example and ws://h:1"
    )


def test_a_review_reason_naming_another_documents_cid_does_not_change_it(
    world: World, tmp_path: Path
) -> None:
    """Content is cached per (CID, kind): a reason that names a Datanet's metadata CID is read as a reason,
    and the metadata is still read (and shaped) as metadata."""
    metadata = build_metadata(name="victim", task="classification", labels=["a", "b"], licence="MIT")
    cid = world.store.add(metadata.canonical_json())
    owner = world.client(1)
    datanet = owner.datanets.create_datanet(cid, owner.address, Policy(0, 60, 0), [owner.address]).created_id
    contribution = world.client(3).datanets.contribute(datanet, world.store.add(b"y"), 1, 1).created_id
    owner.datanets.review(contribution, False, cid)
    indexer = _indexer(world, tmp_path / "index.sqlite")
    indexer.poll()
    kinds = {r["kind"] for r in indexer.db.query("SELECT kind FROM content WHERE cid = ?", (cid,))}
    assert kinds == {"datanet_metadata", "review_reason"}
    shown = queries.datanet(indexer.db, datanet)["metadata"]["body"]
    assert shown["name"] == "victim" and "schema" in shown  # shaped as metadata, not as a reason


def test_addresses_are_stored_checksummed_and_looked_up_on_an_index(world: World, tmp_path: Path) -> None:
    indexer = _indexer(world, tmp_path / "index.sqlite")
    indexer.poll()
    contributor = world.client(3).address
    stored = {r["contributor"] for r in indexer.db.query("SELECT contributor FROM contributions")}
    assert all(Web3.to_checksum_address(a) == a for a in stored)
    statements: list[str] = []
    conn = indexer.db.database._db._conn  # noqa: SLF001 - the one SQLite connection the queries run on
    conn.set_trace_callback(statements.append)
    try:
        lower = queries.account(indexer.db, contributor.lower(), 0)
    finally:
        conn.set_trace_callback(None)
    assert lower["contributions"] == queries.account(indexer.db, contributor, 0)["contributions"] != []
    for sql in statements:
        if contributor not in sql:
            continue
        plan = " | ".join(r["detail"] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "lower(" not in sql, sql
        assert re.search(r"SEARCH \w+ USING (COVERING )?INDEX", plan), (sql, plan)


def test_an_index_of_the_old_layout_is_rebuilt_from_its_event_log(world: World, tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    indexer = _indexer(world, path)
    indexer.poll()
    before = [tuple(r.values()) for r in indexer.db.query("SELECT * FROM contributions ORDER BY id")]
    indexer.db.set_meta("explorer_schema", "1")  # as an index written before TEXT counts and (cid, kind)
    reopened = _indexer(world, path)
    assert [tuple(r.values()) for r in reopened.db.query("SELECT * FROM contributions ORDER BY id")] == before
    assert reopened.db.meta("explorer_replay") is None
    assert reopened.db.meta("explorer_schema") == str(EXPLORER_SCHEMA_VERSION)
    reopened.db.set_meta("deployment", "1-0x00-0x00")  # as if another deployment's index
    with pytest.raises(WrongIndex, match="belongs to deployment 1-0x00-0x00"):
        _indexer(world, path)
