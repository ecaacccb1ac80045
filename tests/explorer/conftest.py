"""The explorer's world, built once per module on the session's Anvil: the demo's state in small (a
curated, published Datanet, a model trained on it and live, paid answers with receipts, an epoch posted
and finalized so contributors can claim), an inference server, and the explorer indexing it all."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from paidmodel import USER, WORKER, LiveModel, Serving, start_serving, stop_serving

from worker.chain.accounts import ReadOnlySigner
from worker.explorer import ExplorerService, IndexerSettings, create_explorer_app
from worker.rewards import EpochService
from worker.serve import ServerThread

sys.path.insert(0, str(Path(__file__).parent))  # browser.py, imported by plain name like paidmodel

EPOCH = 600
BACKENDS = ("sqlite", "postgresql")
_databases = itertools.count()
TEXTS = ("good great happy", "awful sad grim", "love nice fine", "hate terrible poor")


@dataclass
class Explorer:
    live: LiveModel
    serving: Serving
    service: ExplorerService
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url + "/"

    def sync(self) -> None:
        """Index up to the head now (the background indexer would, a moment later)."""
        self.service.indexer.poll()


def finalize_an_epoch(serving: Serving) -> None:
    """Paid answers, then their epoch closed, posted and finalized by the worker's epoch service."""
    live, user = serving.live, serving.user(USER)
    payment = user.pay(live.model_id, len(TEXTS)).created_id
    for index, text in enumerate(TEXTS):
        user.predict(live.model_id, text, payment, index)
    epochs = EpochService(live.client(WORKER), live.store, serving.receipts, epoch_seconds=EPOCH)
    epochs.tick()
    live.chain.dev.increase_time(EPOCH)
    assert [e.action for e in epochs.tick()] == ["closed", "posted"]
    live.chain.dev.increase_time(live.client(0).vault.challenge_window() + 1)
    assert [e.action for e in epochs.tick()] == ["finalized"]


IndexAt = Callable[[str], str]


@pytest.fixture(params=BACKENDS)
def index_at(request: pytest.FixtureRequest, tmp_path: Path) -> IndexAt:
    """Where a test's indexes go, on each backend: `index_at("fresh")` is a new SQLite file, or a new
    database on the session's real PostgreSQL (tests/pg.py)."""
    if request.param == "sqlite":
        return lambda name: str(tmp_path / f"{name}.sqlite")
    from pg import database_url

    server: Any = request.getfixturevalue("postgres_server")
    return lambda name: database_url(server, f"explorer_{name}_{next(_databases)}")


@pytest.fixture(scope="module")
def explorer(live_classifier: LiveModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Explorer]:
    home = tmp_path_factory.mktemp("explorer")
    serving = start_serving(live_classifier, home / "serve")
    service = None
    try:
        finalize_an_epoch(serving)
        client = live_classifier.client(0).as_account(ReadOnlySigner())
        service = ExplorerService.open(
            client,
            live_classifier.store,
            home / "index.sqlite",
            IndexerSettings(poll_seconds=0.1),
            inference=serving.server.url,
        )
        service.indexer.poll()  # the world is indexed before the first page loads
        service.start()
        with ServerThread(create_explorer_app(service)) as server:
            yield Explorer(live_classifier, serving, service, server)
    finally:
        if service is not None:
            service.close()
        stop_serving(serving)
