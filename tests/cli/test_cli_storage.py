"""`openledger ipfs add|cat|pin` on the embedded store: Kubo's CIDs, verified reads, clear failures."""

from __future__ import annotations

from pathlib import Path

from conftest import CliHome

from worker.chain.anvil import free_port
from worker.storage import compute_file_cid

HELLO_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"  # `ipfs add --cid-version=1`


def test_add_cat_pin_round_trip(offline_home: CliHome, tmp_path: Path) -> None:
    hello = tmp_path / "hello.txt"
    hello.write_bytes(b"hello world\n")
    added = offline_home.json("ipfs", "add", hello, "--no-pin")
    assert added == {"cid": HELLO_CID, "size": 12, "pinned": False, "store": offline_home.store.location}
    assert offline_home.store.pins() == []
    assert offline_home.run("ipfs", "cat", HELLO_CID).stdout_bytes == b"hello world\n"
    pinned = offline_home.json("ipfs", "pin", HELLO_CID)
    assert pinned["pinned"] and pinned["size"] == 12
    assert offline_home.store.pins() == [HELLO_CID]

    big = tmp_path / "big.bin"  # several 256 KiB chunks: the balanced DAG, not a single raw block
    big.write_bytes(bytes(range(256)) * 5000)
    cid = offline_home.run("ipfs", "add", big).stdout.strip()
    assert cid == compute_file_cid(big) and cid.startswith("bafybei")
    out = tmp_path / "out" / "copy.bin"
    fetched = offline_home.json("ipfs", "cat", cid, "-o", out)
    assert fetched["verified"] and fetched["size"] == big.stat().st_size
    assert out.read_bytes() == big.read_bytes()


def test_cat_refuses_a_corrupt_object(offline_home: CliHome, tmp_path: Path) -> None:
    hello = tmp_path / "hello.txt"
    hello.write_bytes(b"hello world\n")
    offline_home.run("ipfs", "add", hello)
    (offline_home.store.objects / HELLO_CID).write_bytes(b"hello w0rld\n")  # same size, one byte off
    shown = offline_home.run("ipfs", "cat", HELLO_CID, code=1)
    assert shown.stdout_bytes == b""  # nothing reaches stdout before the check
    assert "CID mismatch" in shown.stderr and HELLO_CID in shown.stderr
    target = tmp_path / "never.txt"
    offline_home.run("ipfs", "cat", HELLO_CID, "-o", target, code=1)
    assert not target.exists()


def test_clear_errors(offline_home: CliHome, tmp_path: Path) -> None:
    bad = offline_home.run("ipfs", "cat", "bafkreinotacid", code=1)
    assert "is not a usable CID" in bad.stderr
    missing_cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    missing = offline_home.run("ipfs", "pin", missing_cid, code=1)
    assert f"{missing_cid} is not in the local store" in missing.stderr
    no_file = offline_home.run("ipfs", "add", tmp_path / "nope.jsonl", code=1)
    assert "no such file" in no_file.stderr
    hello = tmp_path / "hello.txt"
    hello.write_bytes(b"hello world\n")
    down = offline_home.run("ipfs", "add", hello, code=1, IPFS_API=f"http://127.0.0.1:{free_port()}")
    assert "cannot reach the IPFS node" in down.stderr and "IPFS_API" in down.stderr
