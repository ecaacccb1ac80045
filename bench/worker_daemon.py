"""The worker daemon, measured: indexing throughput and a training job's end-to-end latency.

`make bench-worker` (or `python bench/worker_daemon.py [--events N] [--skip-e2e] [--json]`).
- Indexing: N synthetic `PriceSet` events (default 10,000) are put on a fresh Anvil (automine off, ~1,000
  transactions per block), then followed from block 0 by ours (`ChainFollower`: eth_getLogs in ranges,
  ABI decoding, reorg checks, every event and the cursor committed to SQLite with fsync) and, in the same
  run over the same blocks, by the plain web3.py way (`contract.events.PriceSet.get_logs`: decoding
  only, nothing persisted, no reorg checks). Events per second for each.
- End to end: the demo-sized job (the `make demo` Datanet: 4 contributors of real tweets, 300 accepted
  records, minilm LoRA r=8, 4 epochs) from the training request to the result posted, split into the
  worker's stages: claim, fetch, train, attribute, upload, post.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from worker.chain.devnet import LocalChain  # noqa: E402
from worker.chain.sender import Call  # noqa: E402
from worker.chain.types import JobStatus  # noqa: E402
from worker.daemon import FollowerSettings, WorkerDaemon, WorkerSettings  # noqa: E402
from worker.daemon.db import Database  # noqa: E402
from worker.daemon.follower import ChainFollower  # noqa: E402
from worker.daemon.ledger import Ledger  # noqa: E402
from worker.daemon.outbox import Outbox  # noqa: E402
from worker.units import OPEN  # noqa: E402

PER_BLOCK = 1_000
SET_PRICE_GAS = 60_000


def _model(chain: LocalChain) -> int:
    from worker.demo.scenarios import datanet_with_version, fund

    datanet_id = datanet_with_version(chain)
    fund(chain, (6,))
    owner = chain.client(6)
    return int(owner.models.register_model(datanet_id, 1, "minilm", "bafyspec", OPEN).created_id)  # type: ignore[arg-type]


def emit_price_events(chain: LocalChain, model_id: int, count: int) -> None:
    owner = chain.client(6)
    sender, models = owner.sender, owner.models
    fees = sender.fees()
    chain.dev.set_automine(False)
    try:
        for i in range(count):
            data = models.encode("setPrice", model_id, OPEN + i)
            tx = {"from": sender.address, "to": models.address, "data": data, "value": 0,
                  "chainId": sender.chain_id, "gas": SET_PRICE_GAS, **fees}  # fmt: skip
            sender.broadcast(Call("ModelRegistry", "setPrice", models.address, data), tx)
            if (i + 1) % PER_BLOCK == 0:
                chain.dev.mine()
        while chain.dev.rpc("txpool_status")["pending"] != "0x0":
            chain.dev.mine()
    finally:
        chain.dev.set_automine(True)


def index_ours(chain: LocalChain, workdir: Path) -> tuple[int, float]:
    client = chain.client(7)
    db = Database(workdir / "bench.sqlite")
    settings = WorkerSettings(home=workdir)
    addresses = [chain.deployment.address(n) for n in ("ModelRegistry", "DatanetRegistry")]
    follower = ChainFollower(client.w3, client.decoder, addresses, db, Ledger(settings, Outbox(db, client)))
    started = time.perf_counter()
    total = 0
    while True:
        result = follower.poll()
        total += result.events
        if result.cursor >= result.head:
            break
    return total, time.perf_counter() - started


def index_web3(chain: LocalChain, head: int) -> tuple[int, float]:
    contract = chain.client(7).models.contract
    started, total = time.perf_counter(), 0
    for start in range(0, head + 1, FollowerSettings().max_range):
        end = min(start + FollowerSettings().max_range - 1, head)
        total += len(contract.events.PriceSet.get_logs(from_block=start, to_block=end))
    return total, time.perf_counter() - started


def indexing(count: int) -> dict[str, Any]:
    chain = LocalChain.start()
    try:
        model_id = _model(chain)
        started = time.perf_counter()
        emit_price_events(chain, model_id, count)
        emitted = time.perf_counter() - started
        head = chain.dev.block_number()
        with tempfile.TemporaryDirectory() as tmp:
            ours_events, ours_s = index_ours(chain, Path(tmp))
        peer_events, peer_s = index_web3(chain, head)
    finally:
        chain.stop()
    return {
        "synthetic_events": count,
        "blocks": head,
        "emit_seconds": round(emitted, 1),
        "ours": {
            "events": ours_events,
            "seconds": round(ours_s, 3),
            "events_per_s": round(ours_events / ours_s),
        },
        "web3_get_logs": {
            "events": peer_events,
            "seconds": round(peer_s, 3),
            "events_per_s": round(peer_events / peer_s),
        },
    }


def end_to_end(console: Console) -> dict[str, Any]:
    from worker.demo import datanet_stage, training_stage
    from worker.demo.actors import Actors
    from worker.demo.journal import Journal
    from worker.storage import LocalStore

    chain = LocalChain.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            actors, store = Actors(chain), LocalStore(Path(tmp) / "ipfs")
            journal = Journal(Console(file=open("/dev/null", "w")))  # noqa: SIM115 - quiet setup
            actors.fund_everyone()
            published = datanet_stage.run(actors, store, journal)
            client = actors.client(actors.worker)
            settings = WorkerSettings(home=Path(tmp) / "worker", poll_interval=0.05, max_wait=0.2)
            daemon = WorkerDaemon.open(client, store, settings)
            daemon.start()  # staking is not part of a job's latency
            started = time.perf_counter()
            _, job_id = training_stage.register_and_request(actors, store, journal, published)
            models = client.models
            daemon.run(until=lambda: models.get_job(job_id).status == JobStatus.SUBMITTED, timeout=1800)
            total = time.perf_counter() - started
            [task] = daemon.ctx.tasks.all()
            return {"request_to_posted_s": round(total, 2), "stages_s": task.data["timings"]}
    finally:
        chain.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console()
    results: dict[str, Any] = {"indexing": indexing(args.events)}
    if not args.skip_e2e:
        results["end_to_end"] = end_to_end(console)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    ix = results["indexing"]
    table = Table(
        title=f"Indexing {ix['synthetic_events']:,} events over {ix['blocks']} blocks (same Anvil, same run)"
    )
    for column in ("indexer", "events", "seconds", "events/s", "persists + reorg-safe"):
        table.add_column(
            column, justify="left" if column in ("indexer", "persists + reorg-safe") else "right"
        )
    for label, row, safe in (
        ("ours (ChainFollower + SQLite)", ix["ours"], "yes"),
        ("web3.py events.get_logs", ix["web3_get_logs"], "no (decode only)"),
    ):
        table.add_row(label, f"{row['events']:,}", f"{row['seconds']:.2f}", f"{row['events_per_s']:,}", safe)
    console.print(table)
    if "end_to_end" in results:
        e2e = results["end_to_end"]
        stages = Table(
            title=f"Demo-sized job: request -> result posted in {e2e['request_to_posted_s']:.1f} s"
        )
        stages.add_column("stage")
        stages.add_column("seconds", justify="right")
        for stage, seconds in e2e["stages_s"].items():
            stages.add_row(stage, f"{seconds:.2f}")
        console.print(stages)


if __name__ == "__main__":
    main()
