"""Fault injection on real `openledger serve` processes: a kill -9 between the receipt's commit and the
response; three replicas on one PostgreSQL, behind a slow RPC, racing fifty clients for one payment
while the replica that holds the epoch lease dies right after posting the root; a database outage; a
client dripping its body.

What must hold: exactly K answers for a K-unit payment, none without a durable receipt, no unit spent
twice, every client an answer or a clear 4xx (never a 5xx), and no root that `verify` rejects.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from paidmodel import USER, WORKER, LiveModel, start_serving, stop_serving
from rpc_proxy import RpcProxy
from serveproc import ServeProcess

from worker.billing import Receipt, ReceiptLog
from worker.chain.types import EpochStatus
from worker.rewards.epoch_service import EPOCH_LEASE
from worker.rewards.verify import verify_epoch
from worker.serve import InferenceClient, ServeConfig
from worker.serve.client import InferenceFailed

NO_LIMITS = ("--ip-rate", "0", "--payer-rate", "0")


def _body(text: str) -> bytes:
    return f'{{"text": "{text}"}}'.encode()


def test_killed_between_the_receipt_commit_and_the_response_loses_nothing(
    live: LiveModel, tmp_path: Path
) -> None:
    db = str(tmp_path / "receipts.sqlite")
    args = ("--db", db, "--no-epochs", *NO_LIMITS)
    doomed = ServeProcess(live, tmp_path, *args, OPENLEDGER_FAILPOINT="after-receipt").wait_healthy()
    user = InferenceClient(live.client(USER), doomed.url)
    payment = int(user.pay(live.model_id, 2).created_id or 0)
    path = f"/v1/models/{live.model_id}/predict"
    with pytest.raises(InferenceFailed, match="disconnected"):  # the process dies, the answer unsent
        user.send(path, live.model_id, _body("good great"), payment, 0)
    assert doomed.wait_exit() == -9
    stored = ReceiptLog(db).find(payment, 0)
    assert stored is not None  # durable before the answer left

    restarted = ServeProcess(live, tmp_path, *args).wait_healthy()
    try:
        again = InferenceClient(live.client(USER), restarted.url)
        recovered = again.recover(live.model_id, payment, 0, _body("good great"))  # receipt re-verified
        assert recovered.receipt == stored and "label" in recovered.output
        replay = again.send(path, live.model_id, _body("good great"), payment, 0)
        assert replay.status_code == 402 and replay.json()["error"]["code"] == "payment_replayed"
        assert again.predict(live.model_id, "sad", payment, 1).receipt.request_index == 1
        assert ReceiptLog(db).used_indexes(payment) == [0, 1]
    finally:
        restarted.stop()


def _race(
    live: LiveModel, urls: list[str], payment: int, units: int, clients: int
) -> tuple[list[Receipt], Counter]:
    """`clients` threads, each on one replica, try the payment's units in their own order until one is
    theirs; returns the verified answers and every refusal's (status, code)."""
    answers: list[Receipt] = []
    refusals: Counter[tuple[int, str]] = Counter()
    users = [InferenceClient(live.client(USER), url) for url in urls]
    start = threading.Barrier(clients)
    path = f"/v1/models/{live.model_id}/predict"

    def client(number: int) -> None:
        user, order = users[number % len(users)], random.Random(number).sample(range(units), units)
        start.wait()
        for index in order:
            body = _body(f"client {number} says good")
            response = user.send(path, live.model_id, body, payment, index)
            if response.status_code == 200:
                answers.append(user.verify(live.model_id, response.json(), body, payment, index))
                return
            error = response.json()["error"]  # a 5xx is counted with its message, to say what went wrong
            refusals[(response.status_code, error["message" if response.status_code >= 500 else "code"])] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, refusals


def _wait(condition, what: str, live: LiveModel, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        live.chain.dev.mine()  # chain time moves with blocks
        time.sleep(0.3)


def test_three_replicas_on_one_postgresql_race_fifty_clients_and_survive_the_lease_holder_dying(
    live: LiveModel, tmp_path: Path, pg_url: str
) -> None:
    units, clients = 8, 50
    slow_rpc = RpcProxy(live.chain.w3.provider.endpoint_uri, delay=0.02)  # every chain call 20 ms late
    slow_rpc.up()
    args = ("--db", pg_url, "--rpc", slow_rpc.url, "--epoch-seconds", "60", "--tick-seconds", "0.3")
    args += ("--lease-seconds", "4")
    log = ReceiptLog(pg_url)
    # The first replica takes the epoch lease, and is armed to die right after it posts a root.
    first = ServeProcess(live, tmp_path, *args, *NO_LIMITS, OPENLEDGER_FAILPOINT="after-epoch-post")
    replicas = [first.wait_healthy()]
    try:
        _wait(lambda: f":{first.pid}:" in (log.lease_holder(EPOCH_LEASE) or ("",))[0], "a lease", live)
        replicas += [ServeProcess(live, tmp_path, *args, *NO_LIMITS) for _ in range(2)]
        for replica in replicas[1:]:
            replica.wait_healthy()
        payment = int(live.client(USER).vault.pay_for_inference(live.model_id, units).created_id or 0)

        answers, refusals = _race(live, [r.url for r in replicas], payment, units, clients)
        assert sorted(a.request_index for a in answers) == list(range(units))  # exactly K
        assert {status for status, _ in refusals} == {402}, refusals  # the rest: clear refusals, never 5xx
        assert {code for _, code in refusals} <= {"payment_replayed", "payment_in_flight"}
        assert log.used_indexes(payment) == list(range(units)) and log.count() == units
        stored = {(r.payment_id, r.request_index): r for r in log.pending(live.model_id)}
        assert all(stored[(payment, a.request_index)] == a for a in answers)

        live.chain.dev.increase_time(61)  # the epoch is due: the lease holder closes and posts it, dies
        _wait(lambda: first.process.poll() is not None, "the lease holder to post and die", live)
        assert first.process.returncode == -9
        vault = live.client(0).vault
        assert vault.get_epoch(live.model_id, 0).status == EpochStatus.POSTED
        # A survivor takes the lease over and records the root already on-chain, sending nothing.
        _wait(lambda: [e.state for e in log.epochs(live.model_id)] == ["posted"], "the takeover", live)
        holder = log.lease_holder(EPOCH_LEASE)
        assert holder is not None and any(f":{r.pid}:" in holder[0] for r in replicas[1:])
        start = live.chain.deployment.block_number
        assert len(vault.get_events("EpochPosted", start, "latest", live.model_id)) == 1  # one post
        verdict = verify_epoch(live.client(0), live.store, live.model_id, 0)
        assert verdict.ok and verdict.receipts == units, verdict.problems
        assert vault.get_epoch(live.model_id, 0).poster == live.client(WORKER).address
    finally:
        outputs = [replica.stop() for replica in replicas]
        log.close()
        slow_rpc.down()
    assert all("Traceback" not in output for output in outputs[1:]), outputs


def test_a_database_outage_is_a_503_that_spends_nothing(
    live: LiveModel, tmp_path: Path, pg_url: str, postgres_server
) -> None:
    running = start_serving(live, tmp_path, log=pg_url)
    try:
        user = running.user()
        payment = int(user.pay(live.model_id, 2).created_id or 0)
        name = urlsplit(pg_url).path.lstrip("/")
        with psycopg.connect(postgres_server.get_uri(), autocommit=True) as admin:  # the database goes away
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            path = f"/v1/models/{live.model_id}/predict"
            lost = user.send(path, live.model_id, _body("good"), payment, 0)
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # and comes back
        assert lost.status_code == 503 and lost.headers["retry-after"] == "5"
        assert lost.json()["error"]["code"] == "backend_unavailable" and "PostgreSQL" in lost.text
        log = ReceiptLog(pg_url)
        assert log.used_indexes(payment) == []  # nothing spent: the same unit is answered next time
        assert user.predict(live.model_id, "good", payment, 0).receipt.request_index == 0
        assert log.used_indexes(payment) == [0]
    finally:
        stop_serving(running)


def test_a_client_dripping_its_body_gets_a_408_and_holds_up_no_one(live: LiveModel, tmp_path: Path) -> None:
    running = start_serving(live, tmp_path, ServeConfig(body_seconds=1.0))
    try:
        port = int(running.server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            head = f"POST /v1/models/{live.model_id}/predict HTTP/1.1\r\nHost: x\r\n"
            slow.sendall(f"{head}Content-Type: application/json\r\nContent-Length: 400\r\n\r\n".encode())
            started = time.monotonic()
            user = running.user()
            payment = int(user.pay(live.model_id, 1).created_id or 0)
            answered = user.predict(live.model_id, "good", payment, 0)  # served while the drip goes on
            assert answered.receipt.request_index == 0
            reply = b""
            for _ in range(40):  # a byte every 0.1 s: 4 s for the body, more than the 1 s allowed
                try:
                    slow.sendall(b" ")
                except OSError:
                    break  # answered and closed
                time.sleep(0.1)
            slow.settimeout(2)
            try:
                while b"request_timeout" not in reply and (chunk := slow.recv(4096)):
                    reply += chunk
            except TimeoutError:
                pass
        assert reply.startswith(b"HTTP/1.1 408") and b"request_timeout" in reply, reply
        assert time.monotonic() - started < 8
        assert running.receipts.count() == 1
    finally:
        stop_serving(running)
