"""Streaming: time to first token against the latency of the same answer unstreamed (`make bench-streaming`).

Setup (as the serve tests, at real size): a fresh Anvil with the protocol, a generation Datanet of three
contributors, a LoRA adapter on the bundled `smollm2-135m` trained on its version with its attribution
index, live at a price; `openledger serve`'s app on loopback (uvicorn thread), per-answer attribution on.
Load: one paid client asks the same prompts alternately as `POST /v1/completions` and with `stream: true`,
one request at a time; for a streamed answer the time to the first text event and to the receipt (the
last event) are recorded, for the unstreamed one the full round trip. Every answer is verified (the
streamed text against its receipt) exactly as `InferenceClient` does for users.

`python bench/streaming_latency.py [--requests 12] [--max-tokens 32]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the serve tests' live-model helpers (tests/paidmodel.py)

from paidmodel import USER, make_live_model, start_serving, stop_serving  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from worker.chain.anvil import Anvil  # noqa: E402
from worker.chain.connection import connect  # noqa: E402
from worker.chain.deployment import DeploymentConfig  # noqa: E402
from worker.chain.devnet import LocalChain  # noqa: E402
from worker.storage import LocalStore  # noqa: E402

PROMPTS = ["question 1:", "question 2:", "tell me about question 3:", "answer 4:"]


def _ms(seconds: float) -> float:
    return seconds * 1000


def _row(table: Table, name: str, values: list[float]) -> None:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    table.add_row(name, f"{statistics.median(values):.0f}", f"{p90:.0f}", str(len(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=12, help="requests per mode")
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp, Anvil() as anvil:
        work = Path(tmp)
        chain = LocalChain.deploy(connect(anvil.rpc_url), DeploymentConfig(), work / "deployments")
        console.print("training a smollm2-135m adapter on a small generation Datanet ...")
        live = make_live_model(chain, LocalStore(work / "ipfs"), Path("smollm2-135m"), "generation", work)
        serving = start_serving(live, work / "serve")
        try:
            user = serving.user(USER)
            payment = user.pay(live.model_id, 2 * args.requests + 1).created_id
            user.complete(live.model_id, PROMPTS[0], payment, 0, args.max_tokens)  # warm-up (loads the model)
            plain, first, last = [], [], []
            for i in range(args.requests):
                prompt = PROMPTS[i % len(PROMPTS)]
                started = time.perf_counter()
                answer = user.complete(live.model_id, prompt, payment, 1 + 2 * i, args.max_tokens)
                plain.append(_ms(time.perf_counter() - started))
                started, arrived = time.perf_counter(), None
                stream = user.stream_complete(live.model_id, prompt, payment, 2 + 2 * i, args.max_tokens)
                for _ in stream:
                    arrived = arrived or time.perf_counter()
                done = time.perf_counter()
                assert stream.answer is not None and stream.answer.output["text"] == answer.output["text"]
                first.append(_ms((arrived or done) - started))
                last.append(_ms(done - started))
        finally:
            stop_serving(serving)
    table = Table(title=f"smollm2-135m LoRA, {args.max_tokens} new tokens, attribution on (ms)")
    for column in ("", "p50", "p90", "n"):
        table.add_column(column, justify="right")
    _row(table, "unstreamed: full answer + receipt", plain)
    _row(table, "streamed: first token", first)
    _row(table, "streamed: receipt (last event)", last)
    console.print(table)
    console.print(
        f"time to first token is {statistics.median(first) / statistics.median(plain):.0%} of the unstreamed "
        "latency (median)"
    )


if __name__ == "__main__":
    main()
