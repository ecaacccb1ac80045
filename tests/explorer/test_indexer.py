"""The indexer on a real Anvil: events become rows, and after a reorg (`anvil_rollback`, `anvil_reorg`)
the index equals one built from scratch on the surviving chain, updates rewound as well as inserts. On
both backends: a SQLite file and a real PostgreSQL (`index_at`, tests/explorer/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tinymodels import sentiment_records
from workerworld import CONTRIBUTORS, CURATOR, World, contribute

from worker.chain.accounts import ReadOnlySigner
from worker.datanet.curation import review_contribution
from worker.explorer import ExplorerDatabase, Indexer
from worker.explorer.handlers import HANDLERS
from worker.explorer.schema import CHAIN_TABLES

IndexAt = Callable[[str], str]  # the `index_at` fixture: a name -> a new index on the test's backend


def _indexer(world: World, target: str | Path) -> Indexer:
    client = world.client(0).as_account(ReadOnlySigner())
    return Indexer(client, world.store, ExplorerDatabase(target))


def _dump(indexer: Indexer) -> dict[str, list[tuple]]:
    return {
        t: [tuple(r.values()) for r in indexer.db.query(f"SELECT * FROM {t} ORDER BY 1, 2")]
        for t in CHAIN_TABLES
    }


def _row(indexer: Indexer, sql: str, *params) -> dict:
    return dict(indexer.db.query(sql, params)[0])


def test_events_become_rows_with_their_content(world: World, index_at: IndexAt) -> None:
    indexer = _indexer(world, index_at("index"))
    indexed = indexer.poll()
    assert indexed.poll.events > 0 and indexed.documents >= 1
    datanet = _row(indexer, "SELECT * FROM datanets WHERE id = ?", world.datanet_id)
    assert (datanet["contribution_count"], datanet["accepted_count"], datanet["version_count"]) == (3, 3, 1)
    assert datanet["stake"] == str(
        world.client(0).datanets.get_datanet(world.datanet_id).policy.stake_per_contribution
    )
    metadata = _row(indexer, "SELECT * FROM content WHERE cid = ?", datanet["metadata_cid"])
    assert metadata["ok"] == 1 and '"licence": "CC0-1.0"' in metadata["body"]
    curators = indexer.db.query("SELECT curator FROM curators WHERE datanet_id = ?", (world.datanet_id,))
    assert [r["curator"] for r in curators] == [world.client(CURATOR).address]
    onchain = world.client(0).datanets.get_version(world.datanet_id, 1)
    version = _row(indexer, "SELECT * FROM versions WHERE datanet_id = ?", world.datanet_id)
    assert version["merkle_root"] == "0x" + onchain.merkle_root.hex()
    assert indexer.poll().poll.events == 0  # nothing new: nothing applied twice
    manifest = _row(indexer, "SELECT ok, error FROM content WHERE cid = ?", version["manifest_cid"])
    assert manifest["ok"] == 1, manifest
    entries = indexer.db.query(
        "SELECT contribution_id FROM manifest_entries WHERE manifest_cid = ? ORDER BY contribution_id",
        (version["manifest_cid"],),
    )
    assert len(entries) == 3


@pytest.mark.parametrize("how", ["rollback", "reorg"])
def test_after_a_reorg_the_index_equals_a_fresh_one(world: World, index_at: IndexAt, how: str) -> None:
    indexer = _indexer(world, index_at("index"))
    indexer.poll()
    new = contribute(world, CONTRIBUTORS[0], sentiment_records(40)[36:])
    review_contribution(world.client(CURATOR), world.store, new, False, reason="off-topic")
    indexer.poll()
    rejected = _row(indexer, "SELECT * FROM contributions WHERE id = ?", new)
    assert rejected["status"] == "rejected" and int(rejected["slashed"]) > 0 and rejected["reason_cid"]

    # The review's block goes: the contribution is pending again, its slash and reason gone.
    world.chain.dev.rollback(1) if how == "rollback" else world.chain.dev.reorg(1)
    assert indexer.poll().poll.reorg_depth >= 1
    pending = _row(indexer, "SELECT * FROM contributions WHERE id = ?", new)
    assert (pending["status"], pending["slashed"], pending["reason_cid"]) == ("pending", "0", "")
    assert _dump(indexer) == _dump(_fresh(world, index_at))


def _fresh(world: World, index_at: IndexAt) -> Indexer:
    fresh = _indexer(world, index_at("fresh"))
    fresh.poll()
    return fresh


def test_every_handled_event_exists_in_the_contracts_abis(world: World) -> None:
    """The one table of handlers follows the ABIs: a renamed or removed event fails here, not silently."""
    decoder = world.client(0).decoder
    deployment = world.client(0).deployment
    for contract, event in HANDLERS:
        decoder.topic(deployment.address(contract), event)  # KeyError if the ABI has no such event


def test_content_missing_from_the_store_is_reported_then_fetched_once_it_arrives(
    world: World, tmp_path: Path
) -> None:
    from worker.chain.types import Policy
    from worker.datanet.creating import build_metadata
    from worker.storage import LocalStore

    metadata = build_metadata(name="elsewhere", task="classification", labels=["a", "b"], licence="MIT")
    elsewhere = LocalStore(tmp_path / "other-ipfs")  # the owner's own node, not the explorer's store
    cid = elsewhere.add(metadata.canonical_json())
    owner = world.client(1)
    datanet_id = owner.datanets.create_datanet(cid, owner.address, Policy(0, 60, 0)).created_id
    indexer = _indexer(world, tmp_path / "index.sqlite")
    indexer.poll()
    missing = _row(indexer, "SELECT ok, error FROM content WHERE cid = ?", cid)
    assert (
        missing["ok"] == 0
        and f"datanet {datanet_id}" in missing["error"]
        and "not in the" in missing["error"]
    )
    world.store.add(metadata.canonical_json())  # the content reaches the explorer's store
    indexer.poll()
    found = _row(indexer, "SELECT ok, body FROM content WHERE cid = ?", cid)
    assert found["ok"] == 1 and '"name": "elsewhere"' in found["body"]
