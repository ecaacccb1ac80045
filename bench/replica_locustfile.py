"""Locust users for `bench/serve_replicas.py` (run by it as a subprocess: locust monkeypatches with gevent).

$BENCH_REPLICAS_PLAN names the run's plan (JSON written by serve_replicas.py): the replica URLs, the model,
the chain id and vault of the request domain, and one payer per user (key, payment id, unit range). User
number u pays with payer u and sends to replica u mod N (round robin); each request is a signed paid
`POST /v1/models/{id}/predict` on the next unit of its own range, so no (payment, index) is sent twice. A
user whose range runs out stops (counted as exhausted: the plan had too few units for the run).

At the end, every request's start (epoch seconds) and response time (ms), the status codes per replica
(0: no HTTP answer), the 200 answers without a receipt, the exhausted users and this process's own CPU
seconds are written to $BENCH_REPLICAS_OUT.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

from eth_account import Account
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

from worker.billing.authorization import request_domain, sign_request
from worker.canonical import canonical_json
from worker.chain.accounts import LocalSigner

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_REPLICAS_PLAN"]).read_text())
DOMAIN = request_domain(PLAN["chain_id"], PLAN["vault"])
BODIES = [canonical_json({"text": text}) for text in PLAN["texts"]]
URLS: list[str] = PLAN["urls"]

_numbers = itertools.count()
statuses: list[Counter[int]] = [Counter() for _ in URLS]
samples: list[tuple[float, float]] = []  # (start, response time in ms)
tally = {"no_receipt": 0, "exhausted": 0}


class PaidPredictUser(FastHttpUser):
    host = URLS[0]  # each user sends to its own replica by absolute URL
    wait_time = constant(0)  # closed loop: the next request as soon as the answer is in

    def on_start(self) -> None:
        number = next(_numbers)
        if number >= len(PLAN["payers"]):
            raise RuntimeError(f"user {number} has no payer in the plan (it has {len(PLAN['payers'])})")
        payer = PLAN["payers"][number]
        self.signer = LocalSigner(Account.from_key(payer["key"]), f"bench payer {number}")
        self.payment = int(payer["payment"])
        self.next_index, self.end = int(payer["first"]), int(payer["first"]) + int(payer["count"])
        self.replica = number % len(URLS)
        self.url = f"{URLS[self.replica]}/v1/models/{PLAN['model_id']}/predict"

    @task
    def predict(self) -> None:
        if self.next_index >= self.end:
            tally["exhausted"] += 1
            raise StopUser()
        index, self.next_index = self.next_index, self.next_index + 1
        body = BODIES[index % len(BODIES)]
        headers = sign_request(self.signer, DOMAIN, PLAN["model_id"], self.payment, index, body)
        headers["content-type"] = "application/json"
        start, t0 = time.time(), time.perf_counter()
        with self.client.post(
            self.url, data=body, headers=headers, name=f"predict @replica{self.replica}", catch_response=True
        ) as response:
            samples.append((start, (time.perf_counter() - t0) * 1000))
            statuses[self.replica][response.status_code or 0] += 1
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
            elif "receipt" not in (response.json() or {}):
                tally["no_receipt"] += 1
                response.failure("HTTP 200 without a receipt")


@events.test_stop.add_listener
def _write_statuses(**_: Any) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "statuses": [{str(k): v for k, v in sorted(c.items())} for c in statuses],
        "samples": samples,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }
    out |= tally
    Path(os.environ["BENCH_REPLICAS_OUT"]).write_text(json.dumps(out))
