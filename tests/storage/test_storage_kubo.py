"""KuboClient against an in-process server speaking Kubo's RPC wire format (tests/storage/_kubo_wire.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from _kubo_wire import FakeKubo

from worker.errors import StorageError
from worker.storage import (
    KUBO_DEFAULT_PROFILE,
    CidMismatchError,
    ContentNotFoundError,
    ContentStore,
    KuboClient,
    compute_cid,
    verified_fetch,
)
from worker.storage.kubo import api_base_url

DATA = bytes(range(256)) * 3000  # 768,000 bytes: a multi-chunk DAG


@pytest.fixture
def node() -> Iterator[FakeKubo]:
    with FakeKubo() as fake:
        yield fake


@pytest.fixture
def client(node: FakeKubo) -> Iterator[KuboClient]:
    with KuboClient(node.url, timeout_s=5) as kubo:
        yield kubo


def test_add_sends_the_project_profile_and_returns_the_verified_cid(node: FakeKubo, client: KuboClient,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(DATA)
    cid = client.add(path)
    assert cid == compute_cid(DATA) and cid.startswith("bafybei")
    method, url_path, params, headers = node.state.requests[-1]
    assert (method, url_path) == ("POST", "/api/v0/add")
    assert params == {"cid-version": "1", "raw-leaves": "true", "hash": "sha2-256", "chunker": "size-262144",
                      "trickle": "false", "pin": "true", "progress": "false"}
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert node.state.blocks[cid] == DATA and cid in node.state.pins
    assert isinstance(client, ContentStore)


def test_add_streams_every_source_kind(client: KuboClient, node: FakeKubo) -> None:
    chunks = (DATA[i:i + 50_000] for i in range(0, len(DATA), 50_000))
    assert client.add(chunks) == compute_cid(DATA)
    assert client.add(b"") == compute_cid(b"")
    assert client.add(b"x", pin=False) not in node.state.pins


def test_unreadable_source_fails_before_anything_is_stored(client: KuboClient, node: FakeKubo,
                                                           tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such file"):
        client.add(tmp_path / "missing.jsonl")
    assert node.state.blocks == {}
    assert client.add(b"still works") == compute_cid(b"still works")


def test_cat_has_pins_and_version(client: KuboClient, node: FakeKubo) -> None:
    cid = client.add(DATA)
    assert client.cat(cid) == DATA
    assert b"".join(client.cat_iter(cid)) == DATA
    assert verified_fetch(client, cid) == DATA
    assert client.has(cid)
    assert not client.has(compute_cid(b"absent"))
    assert client.pins() == [cid]
    client.unpin(cid)
    client.unpin(cid)  # "not pinned" is not an error
    assert client.pins() == []
    client.pin(cid)
    assert client.pins() == [cid]
    assert client.version() == "0.29.0"
    assert all(method == "POST" for method, *_ in node.state.requests)
    has_call = [r for r in node.state.requests if r[1] == "/api/v0/block/stat"][0]
    assert has_call[2]["offline"] == "true"  # never waits on the network to answer "no"


def test_kubo_default_profile_sends_cidv0_options(node: FakeKubo) -> None:
    with KuboClient(node.url, profile=KUBO_DEFAULT_PROFILE) as client:
        assert client.add(b"hello world\n") == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    params = node.state.requests[-1][2]
    assert (params["cid-version"], params["raw-leaves"]) == ("0", "false")


def test_missing_content_is_content_not_found(client: KuboClient) -> None:
    missing = compute_cid(b"nobody added this")
    with pytest.raises(ContentNotFoundError, match="could not find"):
        client.cat(missing)
    with pytest.raises(ContentNotFoundError):
        client.pin(missing)


def test_node_error_message_is_reported(node: FakeKubo, client: KuboClient) -> None:
    with pytest.raises(StorageError, match="HTTP 404 to does/not/exist: 404 page not found"):
        client._json("does/not/exist")
    with pytest.raises(StorageError, match="HTTP 500 to pin/rm"):
        client._json("pin/rm", {"arg": "whatever"})


def test_add_cid_differing_from_ours_is_refused(node: FakeKubo, client: KuboClient) -> None:
    node.state.lie_on_add = True
    with pytest.raises(CidMismatchError, match="Import config") as caught:
        client.add(DATA)
    assert caught.value.expected == compute_cid(DATA)
    assert caught.value.computed != caught.value.expected
    assert "IPFS node at" in caught.value.source


def test_tampered_download_fails_verified_fetch(node: FakeKubo, client: KuboClient) -> None:
    cid = client.add(DATA)
    node.state.corrupt_cat = True
    with pytest.raises(CidMismatchError) as caught:
        verified_fetch(client, cid)
    assert caught.value.expected == cid and "IPFS node at" in caught.value.source


def test_unreachable_node_says_what_to_do() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    with KuboClient(f"http://127.0.0.1:{port}", timeout_s=5) as client:
        with pytest.raises(StorageError, match="cannot reach the IPFS node.*unset IPFS_API"):
            client.version()
        with pytest.raises(StorageError, match="cannot reach"):
            client.add(b"data")


def test_slow_node_times_out(node: FakeKubo) -> None:
    node.state.delay_s = 1.0
    with KuboClient(node.url, timeout_s=0.2) as client:
        with pytest.raises(StorageError, match="did not answer version within 0.2s"):
            client.version()


@pytest.mark.parametrize(("given", "base"), [
    ("http://127.0.0.1:5001", "http://127.0.0.1:5001/api/v0"),
    ("http://ipfs.local:5001/", "http://ipfs.local:5001/api/v0"),
    ("127.0.0.1:5001", "http://127.0.0.1:5001/api/v0"),
    ("/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001/api/v0"),
    ("/dns/ipfs/tcp/5001/https", "https://ipfs:5001/api/v0"),
    ("/ip6/::1/tcp/5001", "http://[::1]:5001/api/v0"),
    ("https://node.example/api/v0", "https://node.example/api/v0"),
])
def test_api_address_forms(given: str, base: str) -> None:
    assert api_base_url(given) == base
