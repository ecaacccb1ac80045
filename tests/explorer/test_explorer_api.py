"""The explorer's read API and wallet endpoints over HTTP: documented (OpenAPI), paginated, bad input 4xx,
a dependency down 503, never a 500; the same answers on SQLite and PostgreSQL, and a PostgreSQL outage a
503 the indexer rides out; also mounted inside `openledger serve`'s app and run as `openledger explorer`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from paidmodel import CONTRIBUTORS, CURATOR, WORKER, cli_env
from rpc_proxy import RpcProxy
from serveproc import ServeProcess
from web3 import Web3

from worker.chain.accounts import ReadOnlySigner
from worker.chain.anvil import free_port
from worker.chain.client import ChainClient
from worker.database import redacted
from worker.explorer import ExplorerService, create_explorer_app, mount_explorer
from worker.serve import ServerThread, create_app

ROOT = Path(__file__).resolve().parents[2]


def _get(explorer, path: str) -> httpx.Response:
    return httpx.get(explorer.url + path, timeout=30)


def _post(explorer, path: str, **kwargs) -> httpx.Response:
    return httpx.post(explorer.url + path, timeout=30, **kwargs)


def test_the_schema_documents_every_route(explorer) -> None:
    schema = _get(explorer, "api/openapi.json").json()
    paths = set(schema["paths"])
    for route in (
        "/api/datanets", "/api/datanets/{datanet_id}", "/api/datanets/{datanet_id}/contributions",
        "/api/contributions/{contribution_id}", "/api/models/{model_id}",
        "/api/models/{model_id}/attribution", "/api/epochs", "/api/epochs/{model_id}/{epoch}",
        "/api/accounts/{address}", "/api/workers", "/api/actions/create-datanet",
        "/api/actions/contribute/{datanet_id}", "/api/actions/claim/{model_id}/{epoch}",
        "/api/actions/withdraw", "/api/models/{model_id}/typed-data",
    ):  # fmt: skip
        assert route in paths, route


def test_lists_are_paginated(explorer) -> None:
    first = _get(explorer, "api/datanets/1/contributions?limit=2").json()
    rest = _get(explorer, "api/datanets/1/contributions?limit=2&offset=2").json()
    assert first["total"] == rest["total"] == 3
    assert [c["id"] for c in first["items"]] + [c["id"] for c in rest["items"]] == [1, 2, 3]
    accepted = _get(explorer, "api/datanets/1/contributions?status=rejected").json()
    assert accepted["total"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "api/datanets/99", None, 404, "not_found"),
        ("get", "api/datanets/99999999999999999999999", None, 422, "invalid_request"),
        ("get", "api/datanets/-1", None, 422, "invalid_request"),
        ("get", "api/datanets?limit=100000", None, 422, "invalid_request"),
        ("get", "api/accounts/0x12", None, 422, "invalid_request"),
        ("get", "api/models/1/attribution?party=everyone", None, 422, "invalid_request"),
        ("get", "api/nowhere", None, 404, "not_found"),
        ("post", "api/actions/withdraw", {"account": "not an address"}, 422, "invalid_request"),
        ("post", "api/actions/review/1", {"account": "0x" + "11" * 20, "accept": True}, 409, "refused"),
        ("post", "api/actions/publish/1", {"account": "0x" + "11" * 20}, 409, "refused"),
        ("post", "api/actions/claim/1/0", {"account": "0x" + "11" * 20}, 409, "refused"),
        ("post", "api/revert", {"data": "zz"}, 422, "invalid_request"),
    ],
)
def test_bad_input_is_4xx_with_a_message(explorer, method, path, body, status, code) -> None:
    answer = httpx.request(method.upper(), explorer.url + path, json=body, timeout=30)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"]


def test_a_revert_is_explained_before_the_wallet_opens(explorer) -> None:
    live = explorer.live
    # A curator of Datanet 1 reviewing an already reviewed contribution: the API says so (the SDK check).
    refused = _post(
        explorer, "api/actions/review/1", json={"account": live.client(CURATOR).address, "accept": True}
    )
    assert refused.status_code == 409 and "not pending" in refused.json()["error"]["message"]
    # Revert data as a wallet reports it is decoded through every artifact's custom errors.
    selector = Web3.keccak(text="NotCurator(uint256,address)")[:4].hex()
    data = "0x" + selector + (1).to_bytes(32, "big").hex() + bytes(12).hex() + "11" * 20
    message = _post(explorer, "api/revert", json={"data": data}).json()["message"]
    assert message.startswith("your account is not a curator") and "NotCurator(datanetId=1" in message


def test_an_invalid_upload_lists_every_bad_line(explorer) -> None:
    answer = _post(explorer, "api/datanets/1/validate", content=b'{"text": "x", "label": "meh"}\nnot json\n')
    assert answer.status_code == 422
    lines = answer.json()["error"]["lines"]
    assert [(line["line"], line["code"]) for line in lines] == [(1, "unknown_label"), (2, "bad_json")]


def test_a_dependency_down_is_503_not_500(explorer) -> None:
    live = explorer.live
    with RpcProxy(live.chain.w3.provider.endpoint_uri) as proxy:  # type: ignore[attr-defined]
        w3 = Web3(Web3.HTTPProvider(proxy.url, request_kwargs={"timeout": 5}))
        client = ChainClient(w3, ReadOnlySigner(), live.client(0).deployment)
        service = ExplorerService.open(
            client, live.store, explorer.service.db.path, inference="http://127.0.0.1:1"
        )
        with ServerThread(create_explorer_app(service)) as server:
            proxy.down()  # the node goes away
            account = httpx.get(
                f"{server.url}/api/accounts/{live.client(CONTRIBUTORS[0]).address}", timeout=60
            )
            assert account.status_code == 503 and account.headers["retry-after"] == "5", account.text
            asked = httpx.post(f"{server.url}/api/models/1/ask", content=b"{}", timeout=30)
            assert asked.status_code == 503 and "did not answer" in asked.json()["error"]["message"]
            assert httpx.get(f"{server.url}/api/datanets/1", timeout=30).status_code == 200  # the index reads


def test_mounted_in_the_inference_server(explorer) -> None:
    app = create_app(explorer.serving.service)
    mount_explorer(app, explorer.service)
    with ServerThread(app) as server:
        assert (
            httpx.get(f"{server.url}/v1/health", timeout=30).json()["worker"]
            == explorer.live.client(WORKER).address
        )
        page = httpx.get(f"{server.url}/explorer", follow_redirects=True, timeout=30)
        assert page.status_code == 200 and 'src="static/app.js"' in page.text
        assert httpx.get(f"{server.url}/explorer/api/datanets/1", timeout=30).json()["id"] == 1
        assert httpx.get(f"{server.url}/explorer/vendor/ethers.js", timeout=30).status_code == 200


def test_the_explorer_command_indexes_and_serves(explorer, tmp_path, pg_url) -> None:
    """On PostgreSQL by URL (the default SQLite file: `openledger serve --explorer` below)."""
    env = {**os.environ, **cli_env(explorer.live), "HF_HUB_OFFLINE": "1"}
    port = free_port("127.0.0.1")
    command = [sys.executable, "-m", "worker.cli", "explorer", "--port", str(port), "--db", pg_url]
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=5).json()
                if status["counts"]["epochs"] == 1:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert status is not None and status["counts"]["datanets"] >= 1 and status["counts"]["epochs"] == 1, (
            process.stdout.read() if process.poll() is not None else status
        )
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert f"(index {redacted(pg_url)}," in output, output  # no password shown
    nobody = f"postgresql://postgres@/openledger?host={tmp_path}&connect_timeout=1"
    refused = subprocess.run(
        [*command[:-2], "--db", nobody], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1 and "cannot reach PostgreSQL" in refused.stderr, refused.stderr


def test_openledger_serve_mounts_the_explorer_with_a_flag(explorer, tmp_path) -> None:
    server = ServeProcess(
        explorer.live, tmp_path, "--explorer", "--no-epochs", "--db", str(tmp_path / "r.sqlite")
    )
    try:
        url = server.wait_healthy().url
        deadline, status = time.monotonic() + 60, {}
        while time.monotonic() < deadline and status.get("counts", {}).get("epochs") != 1:
            status = httpx.get(f"{url}/explorer/api/status", timeout=10).json()
            time.sleep(0.3)
        assert status["counts"]["epochs"] == 1 and status["counts"]["models"] >= 1, status
        assert 'src="static/app.js"' in httpx.get(f"{url}/explorer/", timeout=10).text
    finally:
        output = server.stop()
    assert "explorer on http://127.0.0.1:" in output, output


# -- the index on PostgreSQL ------------------------------------------------------------------------------

READ_ROUTES = (
    "api/datanets", "api/datanets/1", "api/datanets/1/contributions", "api/contributions/1",
    "api/datanets/1/versions/1", "api/datanets/1/versions/1/contributions", "api/models",
    "api/epochs", "api/workers",
)  # fmt: skip


def _model_routes(explorer) -> tuple[str, ...]:
    model = explorer.live.model_id
    epoch = explorer.service.db.query("SELECT epoch FROM epochs WHERE model_id = ?", (model,))[0]["epoch"]
    account = explorer.live.client(CONTRIBUTORS[0]).address
    return (
        f"api/models/{model}", f"api/models/{model}/attribution?party=contributor",
        f"api/models/{model}/attribution?party=contribution", f"api/epochs/{model}/{epoch}",
        f"api/accounts/{account}",
    )  # fmt: skip


def test_the_read_api_answers_the_same_on_sqlite_and_postgresql(explorer, tmp_path, pg_url) -> None:
    client, store = explorer.service.client, explorer.live.store
    answers = []
    for target in (str(tmp_path / "index.sqlite"), pg_url):
        service = ExplorerService.open(client, store, target)
        try:
            service.indexer.poll()  # the same chain, indexed from scratch on each backend
            with ServerThread(create_explorer_app(service)) as server:
                answers.append(
                    {
                        r: httpx.get(f"{server.url}/{r}", timeout=30)
                        for r in (*READ_ROUTES, *_model_routes(explorer))
                    }
                )
        finally:
            service.close()
    on_sqlite, on_postgresql = answers
    for route, answer in on_sqlite.items():
        assert answer.status_code == 200, (route, answer.text)
        assert answer.json() == on_postgresql[route].json(), route
    version = on_postgresql["api/datanets/1/versions/1"].json()
    assert version["manifest"]["ok"] and version["manifest_check"] == {"checked": True, "problems": []}


def test_postgresql_down_is_a_503_and_the_indexer_catches_up_after(
    explorer, pg_url, postgres_server, monkeypatch
) -> None:
    import psycopg

    import worker.database

    monkeypatch.setattr(worker.database, "POOL_WAIT_S", 1.0)  # a request waits 1 s for a connection
    service = ExplorerService.open(explorer.service.client, explorer.live.store, pg_url)
    name = urlsplit(pg_url).path.lstrip("/")
    try:
        with (
            ServerThread(create_explorer_app(service)) as server,
            psycopg.connect(postgres_server.get_uri(), autocommit=True) as admin,
        ):
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # the server goes away
            admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            try:
                for route in ("api/datanets", "api/status", "api/datanets/1/versions/1"):
                    down = httpx.get(f"{server.url}/{route}", timeout=30)
                    assert down.status_code == 503 and down.headers["retry-after"] == "5", (route, down.text)
                    assert "PostgreSQL" in down.json()["error"]["message"], down.text
                assert not service.indexer.step() and "PostgreSQL" in service.indexer.last_error
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # and comes back
            deadline = time.monotonic() + 30  # the pool reconnects with a backoff of its own
            while not service.indexer.step() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert service.indexer.last_error == ""
            assert service.indexer.cursor() == explorer.live.chain.w3.eth.block_number
            assert httpx.get(f"{server.url}/api/datanets/1", timeout=30).status_code == 200
    finally:
        service.close()


def test_a_derived_model_shows_its_lineage_both_ways(explorer) -> None:
    """`registerDerivedModel` (lineage payouts): the child names its parent and the pinned job, and the
    parent lists the child (last in the module: it adds a model to the shared world)."""
    live = explorer.live
    parent = live.client(0).models.get_model(live.model_id)
    owner = live.client(7)  # the model owner of tests/paidmodel.py
    child = owner.models.register_derived_model(
        parent.datanet_id, parent.version_id, parent.base_model, parent.training_spec_cid, 1, live.model_id
    ).created_id
    explorer.sync()
    shown = _get(explorer, f"api/models/{child}").json()
    assert (shown["parent_model_id"], shown["parent_job_id"], shown["lineage_depth"]) == (
        live.model_id, parent.live_job_id, 1
    )
    assert child in _get(explorer, f"api/models/{live.model_id}").json()["derived"]
    assert _get(explorer, f"api/models/{live.model_id}").json()["parent_model_id"] is None
