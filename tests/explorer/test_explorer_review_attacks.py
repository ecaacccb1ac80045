"""Attacks on the explorer's HTTP API (the review of the explorer), each performed against the real Anvil
world of tests/explorer/conftest.py: the ask relay aimed at private services, files and bodies too large
or too slow, the content store filled by strangers, numbers SQLite cannot hold, revert data and receipts
that do not decode, a locked index, a review reason naming an epoch report. Each now answers 4xx (or 503
for a dependency), never 500, and loses nothing."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from paidmodel import CONTRIBUTORS, CURATOR, DATANET_OWNER
from rpc_proxy import RpcProxy
from web3 import Web3

from worker.billing.limits import RateLimit
from worker.canonical import canonical_json
from worker.chain.accounts import ReadOnlySigner
from worker.chain.client import ChainClient
from worker.chain.types import Policy
from worker.data.schema import RecordLimits
from worker.datanet.creating import build_metadata, create_datanet
from worker.errors import ChainError
from worker.explorer import ExplorerService, create_explorer_app, mount_explorer, queries
from worker.explorer.actions import as_account
from worker.explorer.forwarding import DestinationRefused, public_destination
from worker.explorer.guard import ExplorerLimits
from worker.serve import ServerThread, create_app
from worker.serve.client import local_url
from worker.storage import ContentStore, compute_cid

VALID = (
    b'{"label": "pos", "text": "the crew was kind and the seats were wide"}\n'
    b'{"label": "neg", "text": "lost my bag and nobody answered the phone"}\n'
)
MANY = b"".join(
    canonical_json({"label": "pos", "text": f"trip number {i} was fine"}) + b"\n" for i in range(150)
)


def _post(explorer: Any, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(explorer.url + path, timeout=60, **kwargs)


def _served(explorer: Any, store: ContentStore | None = None, **options: Any) -> ServerThread:
    """Another explorer app on the same index and chain, with its own options."""
    service = ExplorerService.open(
        explorer.service.client, store or explorer.live.store, explorer.service.db.path, **options
    )
    return ServerThread(create_explorer_app(service))


def _datanet(explorer: Any) -> int:
    return int(queries.model(explorer.service.db, explorer.live.model_id)["datanet_id"])


# -- 2: the ask relay ---------------------------------------------------------------------------------


def test_ask_never_relays_to_a_private_endpoint(explorer) -> None:
    # Without --inference-url the provider's on-chain endpoint is used: here loopback, so refused.
    with _served(explorer) as server:
        asked = httpx.post(f"{server.url}/api/models/{explorer.live.model_id}/ask", content=b"{}", timeout=30)
    assert asked.status_code == 403 and asked.json()["error"]["code"] == "destination_refused", asked.text
    for endpoint in (
        "http://127.0.0.1:8000", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data",
        "http://[::1]:80/", "http://[::ffff:127.0.0.1]/", "http://localhost:6379", "http://0.0.0.0/",
        "http://user:pw@93.184.215.14/", "http://93.184.215.14/?x=1", "http://93.184.215.14/#x",
        "file:///etc/passwd", "gopher://93.184.215.14/",
    ):  # fmt: skip
        with pytest.raises(DestinationRefused):
            public_destination(endpoint)
    pinned = public_destination("https://93.184.215.14:8443/base/")
    assert (pinned.url, pinned.host) == ("https://93.184.215.14:8443/base", "93.184.215.14:8443")


class _HugeAnswer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        for _ in range(64):
            self.wfile.write(b" " * 65_536)  # 4 MiB, never a Content-Length

    def log_message(self, *args: object) -> None:
        pass


def test_a_relayed_answer_is_capped(explorer) -> None:
    huge = ThreadingHTTPServer(("127.0.0.1", 0), _HugeAnswer)
    threading.Thread(target=huge.serve_forever, daemon=True).start()
    try:
        inference = f"http://127.0.0.1:{huge.server_address[1]}"
        with _served(explorer, inference=inference) as server:
            asked = httpx.post(f"{server.url}/api/models/1/ask", content=b"{}", timeout=30)
        assert asked.status_code == 502 and asked.json()["error"]["code"] == "answer_too_large", asked.text
    finally:
        huge.shutdown()


# -- 3: files named by CID, and the duplicate index ----------------------------------------------------


class CountingStore:
    """The explorer's store, counting the bytes read from it."""

    def __init__(self, store: ContentStore):
        self._store, self.read = store, 0

    def cat_iter(self, cid: str, *args: Any) -> Iterator[bytes]:
        for chunk in self._store.cat_iter(cid, *args):
            self.read += len(chunk)
            yield chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_cid_of_a_huge_file_is_read_no_further_than_the_datanets_limit(explorer) -> None:
    live = explorer.live
    owner = live.client(DATANET_OWNER)
    metadata = build_metadata(
        name="small files", task="classification", labels=["a", "b"], licence="MIT",
        limits=RecordLimits(max_file_bytes=1_000),
    )  # fmt: skip
    datanet = create_datanet(owner, live.store, metadata, Policy(0, 60, 0), [owner.address]).datanet_id
    huge = live.store.add(b'{"text": "x", "label": "a"}\n' * 200_000)  # 5.6 MB
    counting = CountingStore(live.store)
    with _served(explorer, store=counting) as server:
        answer = httpx.post(
            f"{server.url}/api/actions/contribute/{datanet}",
            json={"account": live.client(CONTRIBUTORS[0]).address, "cid": huge},
            timeout=60,
        )
    assert answer.status_code == 422 and "limit of 1000 bytes" in answer.json()["error"]["message"], (
        answer.text
    )
    assert counting.read <= 2 * 1024 * 1024  # the metadata and one chunk, not the whole file


def test_validate_downloads_the_accepted_data_once_per_accepted_set(explorer) -> None:
    datanet = _datanet(explorer)
    before = explorer.service.dedup.builds
    for _ in range(3):
        answer = _post(explorer, f"api/datanets/{datanet}/validate", content=VALID)
        assert answer.status_code == 200, answer.text
    assert explorer.service.dedup.builds == before + 1


# -- 4 and 5: request limits ----------------------------------------------------------------------------


def _raw(url: str, request: bytes, pause: float = 0.0) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(request)
        time.sleep(pause)
        return conn.recv(65_536)


def test_bodies_are_capped_and_timed_on_every_route(explorer) -> None:
    limits = ExplorerLimits(json_bytes=1_024, upload_bytes=4_096, body_seconds=1.0)
    account = "0x" + "11" * 20
    with _served(explorer, limits=limits) as server:
        big = httpx.post(f"{server.url}/api/actions/withdraw", json={"account": account, "x": "y" * 5_000})
        assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"
        chunked = httpx.post(f"{server.url}/api/actions/withdraw", content=iter([b"{" + b" " * 4_000] * 2))
        assert chunked.status_code == 413
        upload = httpx.post(f"{server.url}/api/datanets/1/upload", content=b"x" * 5_000)
        assert upload.status_code == 413
        slow = _raw(
            server.url,
            b"POST /api/actions/withdraw HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{",
            pause=2.5,
        )
        assert b" 408 " in slow.split(b"\r\n")[0], slow
    labels = _post(
        explorer, "api/actions/create-datanet",
        json={"account": account, "name": "n", "task": "classification", "labels": ["l"] * 1_001,
              "licence": "MIT", "stake": "0", "review_period": 60, "slash_bps": 0},
    )  # fmt: skip
    assert labels.status_code == 422 and "labels" in labels.json()["error"]["message"]
    # Mounted in `openledger serve`, the explorer keeps its own limits.
    app = create_app(explorer.serving.service)
    mount_explorer(app, explorer.service)
    with ServerThread(app) as server:
        mounted = httpx.post(f"{server.url}/explorer/api/actions/withdraw", content=b" " * 100_000)
        assert mounted.status_code == 413


def test_strangers_cannot_flood_the_api_or_fill_the_content_store(explorer) -> None:
    few = ExplorerLimits(requests=RateLimit(rate=0.01, burst=3))
    with _served(explorer, limits=few) as server:
        answers = [httpx.get(f"{server.url}/api/status", timeout=30) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    quota = ExplorerLimits(stored_bytes=RateLimit(rate=0.01, burst=10_000))
    datanet = _datanet(explorer)
    with _served(explorer, limits=quota) as server:
        first = httpx.post(f"{server.url}/api/datanets/{datanet}/upload", content=MANY, timeout=30)
        second = httpx.post(f"{server.url}/api/datanets/{datanet}/upload", content=MANY, timeout=30)
    assert first.status_code == 200, first.text
    assert second.status_code == 429 and "bytes stored" in second.json()["error"]["message"]


# -- 8 to 11: answers that were 500s ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "api/datanets?offset=1000000000000000000000000000000", None, 422, "invalid_request"),
        ("get", "api/models?offset=9223372036854775808", None, 422, "invalid_request"),
        ("post", "api/revert", {"data": "0x08c379a0"}, 422, "invalid_request"),
        ("post", "api/revert", {"data": "0x08c379a0" + "00" * 31 + "20"}, 422, "invalid_request"),
        ("post", "api/receipt", {"tx_hash": "0x" + "ab" * 32}, 404, "not_mined"),
    ],
)
def test_bad_input_that_was_a_500_is_4xx(explorer, method, path, body, status, code) -> None:
    answer = httpx.request(method.upper(), explorer.url + path, json=body, timeout=30)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


def test_content_errors_are_the_requesters_not_the_servers(explorer) -> None:
    account = explorer.live.client(CONTRIBUTORS[0]).address
    datanet = _datanet(explorer)
    absent = compute_cid(b"never stored anywhere")
    missing = _post(explorer, f"api/actions/contribute/{datanet}", json={"account": account, "cid": absent})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "content_not_found", missing.text
    invalid = _post(
        explorer, f"api/actions/contribute/{datanet}", json={"account": account, "cid": "bafyXYZ"}
    )
    assert invalid.status_code == 422, invalid.text
    too_big = _post(explorer, f"api/datanets/{datanet}/upload", content=b"x" * (16 * 1024 * 1024 + 1))
    assert too_big.status_code == 413, too_big.text


def test_a_locked_index_is_503_not_500(explorer, tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite"
    service = ExplorerService.open(explorer.service.client, explorer.live.store, path)
    sqlite = service.db.database._db  # noqa: SLF001 - the SQLite store's one connection
    sqlite._conn.close()  # noqa: SLF001 - reopened below, after another process took the file
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('lock test', '1')")
        holder.execute("COMMIT")  # the exclusive lock stays held: nobody else may even read
        conn = sqlite3.connect(path, isolation_level=None, timeout=0.2, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        sqlite._conn = conn  # noqa: SLF001 - the service's own connection, with a short busy timeout
        with ServerThread(create_explorer_app(service)) as server:
            answer = httpx.get(f"{server.url}/api/datanets", timeout=30)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5", answer.text
        assert "busy" in answer.json()["error"]["message"]
    finally:
        holder.close()
    assert httpx.get(f"{explorer.url}api/datanets", timeout=30).status_code == 200


# -- 13: one CID, two kinds of reference ----------------------------------------------------------------


def test_a_review_reason_naming_the_epoch_report_does_not_poison_it(explorer, tmp_path: Path) -> None:
    live = explorer.live
    epoch = queries.epochs(explorer.service.db, queries.Page())["items"][0]
    datanet = _datanet(explorer)
    contributor = live.client(CONTRIBUTORS[1])
    submitted = contributor.datanets.contribute(datanet, live.store.add(VALID + b"\n"), len(VALID) + 1, 2)
    live.client(CURATOR).datanets.review(submitted.created_id, False, epoch["report_cid"])
    fresh = ExplorerService.open(explorer.service.client, live.store, tmp_path / "fresh.sqlite")
    fresh.indexer.poll()
    shown = queries.epoch(fresh.db, epoch["model_id"], epoch["epoch"])
    assert shown["report"]["ok"] and "accounts" in shown["report"]["body"], shown["report"]
    assert len(shown["amounts"]) == shown["report"]["body"]["accounts"] > 0
    assert queries.contribution(fresh.db, submitted.created_id)["reason"]["ok"]  # read as a reason, apart

    # 21: the receipt's event arguments are worker.chain.events' JSON form (integers stay integers).
    receipt = _post(explorer, "api/receipt", json={"tx_hash": submitted.tx_hash}).json()
    args = next(e for e in receipt["events"] if e["name"] == "ContributionSubmitted")["args"]
    assert args["contributionId"] == submitted.created_id and args["byteSize"] == len(VALID) + 1


# -- 15, 20, 21: defaults and one home per concept ------------------------------------------------------


def test_the_wallets_client_is_read_only_and_refuses_before_any_rpc(explorer) -> None:
    live = explorer.live
    with RpcProxy(live.chain.w3.provider.endpoint_uri) as proxy:  # type: ignore[attr-defined]
        client = ChainClient(Web3(Web3.HTTPProvider(proxy.url)), ReadOnlySigner(), live.client(0).deployment)
        wallet = as_account(client, live.client(CURATOR).address.lower())
        assert isinstance(wallet.sender.signer, ReadOnlySigner)
        assert wallet.address == live.client(CURATOR).address  # reads and simulations run as the wallet
        proxy.down()
        with pytest.raises(ChainError, match="read-only"):
            wallet.datanets.review(1, True, "")  # refused at once, not a connection error


def test_the_explorer_waits_for_the_chains_confirmations(explorer, tmp_path: Path) -> None:
    import inspect

    from worker.cli.explorer_commands import explorer_command, open_explorer
    from worker.daemon.settings import default_confirmations

    # Neither `openledger explorer` nor `serve --explorer` (which passes nothing) fixes 0 for every chain.
    assert inspect.signature(explorer_command).parameters["confirmations"].default is None
    assert inspect.signature(open_explorer).parameters["confirmations"].default is None

    service = open_explorer(explorer.service.client, str(tmp_path / "index.sqlite"), None)
    try:
        chain_id = explorer.service.client.deployment.chain_id
        assert service.indexer.follower.settings.confirmations == default_confirmations(chain_id)
        assert default_confirmations(1) == 3  # mainnet: as `openledger watch`
    finally:
        service.close()


def test_the_local_url_of_a_bind_address() -> None:
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"  # noqa: S104
    assert local_url("::", 8000) == "http://[::1]:8000"
    assert local_url("::1", 9) == "http://[::1]:9"
    assert local_url("[fe80::1]", 9) == "http://[fe80::1]:9"
    assert local_url("example.org", 80) == "http://example.org:80"
