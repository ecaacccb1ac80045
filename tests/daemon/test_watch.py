"""Protocol events as a public API (`follow`, `openledger watch`, webhooks) on a real Anvil: chain order,
resumable cursors, at-least-once delivery when a handler or receiver fails, reorgs undone and replayed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from examplebots import load_bot
from typer.testing import CliRunner
from workerworld import World

from worker.chain.deployment import save_deployment
from worker.chain.devnet import LocalChain
from worker.chain.events import DecodedEvent
from worker.cli import app
from worker.daemon.watch import EventStream, WatchError, WatchSettings, Webhook, follow

ALICE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
BOB = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"


def _transfers(devnet: LocalChain, *amounts: int, to: str = ALICE) -> None:
    for amount in amounts:
        devnet.client(0).token.transfer(to, amount)


def _amounts(events: list[DecodedEvent]) -> list[int]:
    return [int(e["value"]) for e in events]


def _follow_once(devnet: LocalChain, home: Path, **kwargs: Any) -> list[DecodedEvent]:
    seen: list[DecodedEvent] = []
    follow(seen.append, client=devnet.client(0), events=["Transfer"], once=True, home=home, **kwargs)
    return seen


def test_events_arrive_in_chain_order_and_a_cursor_resumes(devnet: LocalChain, tmp_path: Path) -> None:
    start = devnet.w3.eth.block_number + 1
    _transfers(devnet, 1, 2, 3)
    first = _follow_once(devnet, tmp_path, from_block=start)
    assert _amounts(first) == [1, 2, 3]
    assert [(e.block_number, e.log_index) for e in first] == sorted(
        (e.block_number, e.log_index) for e in first
    )
    assert all(e.contract == "OpenToken" and e["to"] == ALICE for e in first)
    _transfers(devnet, 4, 5)
    assert _amounts(_follow_once(devnet, tmp_path)) == [4, 5]  # resumed: no repeat, no gap
    assert _follow_once(devnet, tmp_path) == []
    other = _follow_once(devnet, tmp_path, cursor="audit", from_block=start)  # a cursor of its own
    assert _amounts(other) == [1, 2, 3, 4, 5]


def test_a_failing_handler_gets_the_batch_again(devnet: LocalChain, tmp_path: Path) -> None:
    start = devnet.w3.eth.block_number + 1
    _transfers(devnet, 1, 2, 3)
    calls: list[int] = []

    def flaky(event: DecodedEvent) -> None:
        calls.append(int(event["value"]))
        if int(event["value"]) == 2:
            raise RuntimeError("handler crashed")

    with pytest.raises(RuntimeError, match="handler crashed"):
        follow(
            flaky, client=devnet.client(0), events=["Transfer"], once=True, home=tmp_path, from_block=start
        )
    assert calls == [1, 2]
    assert _amounts(_follow_once(devnet, tmp_path)) == [1, 2, 3]  # at least once: nothing was skipped


def test_a_reorg_is_announced_and_the_new_branch_delivered(devnet: LocalChain, tmp_path: Path) -> None:
    start = devnet.w3.eth.block_number + 1
    _transfers(devnet, 1, 2)
    assert _amounts(_follow_once(devnet, tmp_path, from_block=start)) == [1, 2]
    fork = devnet.w3.eth.block_number - 1  # the block under the transfer of 2
    token = devnet.client(0).token
    calldata = token.contract.encode_abi("transfer", args=[BOB, 7])
    # Anvil's default gas for a reorg transaction is too little for an ERC20Votes transfer
    replacement = {
        "from": devnet.deployment.deployer,
        "to": token.contract.address,
        "data": calldata,
        "gas": hex(200_000),
    }
    devnet.dev.reorg(1, [(replacement, 0)])  # the last block is replaced: 2 to Alice is gone, 7 to Bob
    reorgs: list[int] = []
    seen: list[DecodedEvent] = []
    follow(
        seen.append,
        client=devnet.client(0),
        events=["Transfer"],
        once=True,
        home=tmp_path,
        on_reorg=reorgs.append,
    )
    assert reorgs == [fork]
    assert [(int(e["value"]), e["to"]) for e in seen] == [(7, BOB)]


def test_unknown_event_names_are_refused_with_the_known_ones(devnet: LocalChain, tmp_path: Path) -> None:
    with pytest.raises(WatchError, match=r"no protocol event named Tranfser; known: .*TrainingRequested"):
        EventStream(devnet.client(0), print, WatchSettings(events=("Tranfser",)), home=tmp_path)
    qualified = EventStream(
        devnet.client(0), print, WatchSettings(events=("OpenToken.Transfer",)), home=tmp_path
    )
    qualified.close()


class _Receiver(BaseHTTPRequestHandler):
    replies: list[int] = []  # status per POST, then 200
    bodies: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.replies.pop(0) if self.replies else 200
        if status == 200:
            self.bodies.append((dict(self.headers), body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    class Receiver(_Receiver):
        replies: list[int] = []
        bodies: list[tuple[dict[str, str], bytes]] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", Receiver
    server.shutdown()
    server.server_close()


def test_a_webhook_gets_every_event_once_taken_signed(
    devnet: LocalChain, tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, got = receiver
    start = devnet.w3.eth.block_number + 1
    _transfers(devnet, 1, 2, 3)
    got.replies = [503, 429]  # the receiver is busy at first: retried, not lost
    hook = Webhook(url, 31337, secret="s3cret", first_delay_s=0.01)
    follow(hook, client=devnet.client(0), events=["Transfer"], once=True, home=tmp_path, from_block=start)
    assert [json.loads(body)["args"]["value"] for _, body in got.bodies] == [1, 2, 3]
    for headers, body in got.bodies:
        stamp = headers["X-OpenLedger-Timestamp"]
        assert abs(int(stamp) - time.time()) < 120  # a receiver refuses old ones: no replays
        expected = hmac.new(b"s3cret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert headers["X-OpenLedger-Signature"] == f"sha256={expected}"
        assert headers["X-OpenLedger-Event-Id"] == json.loads(body)["id"]


def test_a_refusing_webhook_stops_the_cursor_before_the_event(
    devnet: LocalChain, tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, got = receiver
    start = devnet.w3.eth.block_number + 1
    _transfers(devnet, 1, 2)
    got.replies = [200, 400]  # takes the first, refuses the second
    hook = Webhook(f"{url}/T0KEN?key=s3cret", 31337, first_delay_s=0.01)
    with pytest.raises(WatchError, match=r"refused an event \(HTTP 400\)") as refused:
        follow(hook, client=devnet.client(0), events=["Transfer"], once=True, home=tmp_path, from_block=start)
    assert "T0KEN" not in str(refused.value) and "s3cret" not in str(refused.value)  # tokens stay secret
    follow(hook, client=devnet.client(0), events=["Transfer"], once=True, home=tmp_path)  # receiver fixed
    assert [json.loads(body)["args"]["value"] for _, body in got.bodies] == [1, 1, 2]  # at least once


def test_watch_command_prints_json_lines(devnet: LocalChain, tmp_path: Path) -> None:
    save_deployment(devnet.deployment, tmp_path / "deployments")
    start = devnet.w3.eth.block_number + 1
    _transfers(devnet, 5, 6)
    env = {
        "OPENLEDGER_HOME": str(tmp_path),
        "OPENLEDGER_RPC": str(devnet.w3.provider.endpoint_uri),  # type: ignore[attr-defined]
        "OPENLEDGER_PRIVATE_KEY": "",
    }
    args = ["watch", "--json", "--once", "--events", "Transfer", "--from-block", str(start)]
    done = CliRunner().invoke(app, args, env=env)
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["event"], line["args"]["value"]) for line in lines] == [("Transfer", 5), ("Transfer", 6)]
    assert lines[0]["id"] == f"31337:{lines[0]['blockHash']}:{lines[0]['logIndex']}"
    again = CliRunner().invoke(app, ["watch", "--json", "--once"], env=env)
    assert again.exit_code == 0 and again.stdout == ""  # resumed from the default cursor
    bad = CliRunner().invoke(app, ["watch", "--once", "--events", "Nope"], env=env)
    assert bad.exit_code == 1 and "no protocol event named Nope" in bad.output


def test_the_training_bot_announces_each_request_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLEDGER_HOME", str(world.home))
    model_id, job_id = world.request()
    bot, said = load_bot("announce_training"), []
    assert bot.run(world.client(0), once=True, emit=said.append) == 1
    [line] = said
    assert line.startswith(f"training wanted: job {job_id} for model {model_id} (datanet {world.datanet_id} ")
    assert "bounty 50 OPEN, claim by " in line and " UTC (tx 0x" in line
    assert bot.run(world.client(0), once=True, emit=said.append) == 0  # resumed: announced once
