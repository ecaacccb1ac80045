"""Paid inference under load: latency and throughput with and without per-answer attribution, and the gas
of an epoch root against the number of contributors it pays.

`python bench/inference_load.py [--requests 200] [--max-seconds 120] [--json]` (`make bench-inference`).
- Setup: a fresh Anvil with the protocol; the demo's Datanet (real tweets, three accepted contributors);
  a `minilm` LoRA classifier trained on that version with its attribution index (3 checkpoints), cached
  under .bench-cache/inference/ by dataset root and spec; bundle and report on the local content store;
  a training job finalized so the model is live with a staked worker.
- Load: the worker's inference API runs in this process (three uvicorn threads on loopback: per-answer
  attribution with the engine's default every-checkpoint queries, the same at the final adapter, and
  none, whose receipts then carry the model-level weights); a second process (spawned) signs and sends
  paid predictions one at a time, taking the servers in turn so all see the same background load
  (bounded by --requests per mode and --max-seconds), and times each HTTP round trip; req/s is 1 / mean
  round trip of that sequential client. The time each answer spends in the model (forward, plus
  attribution when on) is recorded inside the server meanwhile.
- Gas: the real epoch closed from the receipts (EpochService), then synthetic epochs paying 10, 100, 1000
  fresh contributors: postEpochRoot and finalizeEpoch gas, and the mean gas of sampled claims.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from worker.canonical import canonical_json  # noqa: E402
from worker.chain.client import ChainClient  # noqa: E402
from worker.demo import datanet_stage  # noqa: E402
from worker.demo.actors import Actors  # noqa: E402
from worker.demo.journal import Journal  # noqa: E402
from worker.merkle import ClaimTree  # noqa: E402
from worker.storage import LocalStore, add_directory  # noqa: E402
from worker.units import OPEN  # noqa: E402

CACHE = ROOT / ".bench-cache" / "inference"
TEXTS = [
    "the flight was late again and nobody told us anything",
    "great crew, smooth landing, thank you so much",
    "lost my bag for the third time this year",
    "love the new app, checking in took seconds",
    "worst customer service I have ever had",
    "so happy to be home, what a trip",
]
GAS_SIZES = (10, 100, 1000)
CLAIM_SAMPLE = 5


@dataclass
class LoadResult:
    mode: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    model_p50_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class EpochGas:
    contributors: int
    post: int
    finalize: int
    mean_claim: int
    report_bytes: int
    source: str


# -- the live model ----------------------------------------------------------------------------------


def _spec():
    """The demo's training spec with 3 epochs: 3 checkpoints in the attribution ensemble."""
    from worker.demo.training_stage import demo_spec

    return demo_spec().replace(epochs=3)


def _trained(records: list[dict], root: str, console: Console) -> tuple[Path, dict]:
    """The model directory (with its attribution index) and report, trained once per dataset, spec and
    attribution arguments."""
    from worker.attribution import AttributionArguments, attribute
    from worker.train import train

    spec = _spec()
    arguments = json.dumps(AttributionArguments().to_dict(), sort_keys=True)
    key = hashlib.sha256((root + spec.to_json() + arguments).encode()).hexdigest()[:16]
    folder = CACHE / key
    if not (folder / "report.json").is_file():
        console.print(f"training minilm on {len(records)} records (cached in {folder})")
        shutil.rmtree(folder, ignore_errors=True)
        train(spec, records, folder / "model", dataset_root=root)
        report = attribute(folder / "model", records, records[-8:]).to_dict()
        (folder / "report.json").write_bytes(canonical_json(report))
    return folder / "model", json.loads((folder / "report.json").read_text())


def live_model(actors: Actors, store: LocalStore, console: Console) -> int:
    published = datanet_stage.run(actors, store, Journal(Console(quiet=True)))
    worker, owner = actors.client(actors.worker), actors.client(actors.model_owner)
    from worker.datanet.loading import load_version
    from worker.jobs.inputs import training_records

    root = published.manifest.merkle_root()
    records = training_records(load_version(published.manifest, store, expected_root=root))
    model_dir, report = _trained(records, root, console)
    adapter_cid, report_cid = add_directory(store, model_dir), store.add(canonical_json(report))
    spec_cid = store.add(_spec().to_json().encode())
    model_id = owner.models.register_model(
        published.datanet_id, published.version_id, "minilm", spec_cid, 2 * OPEN
    ).created_id
    job_id = owner.models.request_training(model_id, 100 * OPEN).created_id
    worker.workers.register_worker(1_000 * OPEN, "http://127.0.0.1:8000")
    worker.models.claim_job(job_id)
    worker.models.submit_result(job_id, adapter_cid, report_cid, keccak(text="bench"), report_cid)
    actors.chain.dev.increase_time(worker.models.params().challenge_window + 1)
    worker.models.finalize(job_id)
    return int(model_id)


# -- load from a second process ----------------------------------------------------------------------


def load_process(
    urls: list[str],
    payments: list[int],
    rpc: str,
    deployment: dict,
    user: int,
    model_id: int,
    count: int,
    max_seconds: float,
    out: Any,
) -> None:
    """Runs in a spawned process: signs and sends paid predictions one at a time, alternating between the
    servers (one per mode), so every mode sees the same background load; times each round trip."""
    from worker.chain.accounts import dev_signer
    from worker.chain.connection import connect
    from worker.chain.deployment import Deployment
    from worker.serve.client import InferenceClient

    client = ChainClient(connect(rpc), dev_signer(user), Deployment.from_dict(deployment))
    users = [InferenceClient(client, url) for url in urls]
    latencies: list[list[float]] = [[] for _ in urls]
    failures, started = 0, time.perf_counter()
    for i in range(count):
        if time.perf_counter() - started > max_seconds:
            break
        body = canonical_json({"text": TEXTS[i % len(TEXTS)]})
        for mode, (http, payment) in enumerate(zip(users, payments, strict=True)):
            t0 = time.perf_counter()
            response = http.send(f"/v1/models/{model_id}/predict", model_id, body, payment, i)
            latencies[mode].append(time.perf_counter() - t0)
            failures += response.status_code != 200
    out.put({"latencies": latencies, "failures": failures})


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000 if ordered else 0.0


def _time_model(service: Any, model_id: int) -> list[float]:
    """Record how long each answer spends in the model (forward, plus attribution when on) while the
    server runs; a few warm-up answers first."""
    served, spent = service.catalog.get(model_id), []
    answer = served.classify
    for text in TEXTS:
        answer(text)

    def timed(text: str) -> Any:
        t0 = time.perf_counter()
        try:
            return answer(text)
        finally:
            spent.append(time.perf_counter() - t0)

    served.classify = timed  # this bench's instance only
    return spent


def run_load(
    actors: Actors, store: LocalStore, home: Path, model_id: int, args: argparse.Namespace, receipts: Any
) -> list[LoadResult]:
    from worker.serve import AnswerSettings, InferenceService, ServeConfig, ServerThread, create_app

    worker, user = actors.client(actors.worker), actors.client(actors.user)
    modes = {
        "without attribution": AnswerSettings(attribution=False),
        "with attribution (every checkpoint: the default)": AnswerSettings(),
        "with attribution (final adapter: --query-checkpoints final)": AnswerSettings(
            query_checkpoints="final"
        ),
    }
    services = [
        InferenceService(worker, store, receipts, home / "models", ServeConfig(answers=answers))
        for answers in modes.values()
    ]
    model_times = [_time_model(service, model_id) for service in services]
    payments = [int(user.vault.pay_for_inference(model_id, args.requests).created_id) for _ in modes]
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    servers = [ServerThread(create_app(service)).start() for service in services]
    try:
        process = spawn.Process(
            target=load_process,
            args=(
                [s.url for s in servers],
                payments,
                actors.chain.anvil.rpc_url,
                actors.chain.deployment.to_dict(),
                actors.user,
                model_id,
                args.requests,
                args.max_seconds,
                queue,
            ),
        )
        process.start()
        result = queue.get(timeout=args.max_seconds + 300)
        process.join()
    finally:
        for server in servers:
            server.stop()
    if result["failures"]:
        raise SystemExit(f"{result['failures']} paid request(s) failed")
    out = []
    for name, latencies, spent in zip(modes, result["latencies"], model_times, strict=True):
        p50, p99, model_p50 = (
            _percentile(latencies, 0.5),
            _percentile(latencies, 0.99),
            _percentile(spent, 0.5),
        )
        out.append(LoadResult(name, len(latencies), sum(latencies), p50, p99, model_p50))
    return out


# -- gas per epoch root -------------------------------------------------------------------------------


def _claims(actors: Actors, model_id: int, epoch: int, entries: list[tuple[str, int]]) -> int:
    tree, anyone = ClaimTree.of(entries), actors.client(actors.user)
    sample = range(0, len(entries), max(1, len(entries) // CLAIM_SAMPLE))[:CLAIM_SAMPLE]
    gas = [anyone.vault.claim(model_id, epoch, i, *entries[i], tree.proof(i)).gas_used for i in sample]
    return int(statistics.mean(gas))


def real_epoch_gas(actors: Actors, store: LocalStore, model_id: int, receipts: Any) -> EpochGas:
    from worker.rewards import EpochService, load_report

    worker = actors.client(actors.worker)
    service = EpochService(worker, store, receipts, 60, models=[model_id])
    service.tick()
    actors.chain.dev.increase_time(60)
    posted = next(e for e in service.tick() if e.action == "posted")
    actors.chain.dev.increase_time(worker.vault.challenge_window() + 1)
    finalized = next(e for e in service.tick() if e.action == "finalized")
    cid = worker.vault.report_cid(model_id, posted.epoch)
    report = load_report(store, cid)
    claim = _claims(actors, model_id, posted.epoch, list(report.amounts.items()))
    return EpochGas(
        len(report.amounts),
        posted.tx.gas_used,
        finalized.tx.gas_used,
        claim,
        store.size(cid),
        f"real: {len(report.receipts)} receipts",
    )


def synthetic_epoch_gas(actors: Actors, store: LocalStore, model_id: int, size: int) -> EpochGas:
    worker = actors.client(actors.worker)
    accounts = [to_checksum_address(keccak(f"bench-{size}-{i}".encode())[:20]) for i in range(size)]
    entries = [(a, 10**9 + i) for i, a in enumerate(accounts)]
    tree = ClaimTree.of(entries)
    cid = store.add(canonical_json({"amounts": {a: str(v) for a, v in entries}, "tree": tree.tree.dump()}))
    if worker.vault.pool(model_id).available < sum(v for _, v in entries):  # unused prepaid requests
        actors.client(actors.user).vault.pay_for_inference(model_id, 1)
    epoch = worker.vault.next_epoch(model_id)
    post = worker.vault.post_epoch_root(model_id, epoch, tree.root, sum(v for _, v in entries), cid)
    actors.chain.dev.increase_time(worker.vault.challenge_window() + 1)
    finalize = worker.vault.finalize_epoch(model_id, epoch)
    return EpochGas(
        size,
        post.gas_used,
        finalize.gas_used,
        _claims(actors, model_id, epoch, entries),
        store.size(cid),
        "synthetic amounts",
    )


# -- report -------------------------------------------------------------------------------------------


def table(loads: list[LoadResult], gas: list[EpochGas]) -> Table:
    bare = next(r for r in loads if r.mode.startswith("without"))
    out = Table(title="Paid inference (minilm, loopback, one sequential client process) and epoch gas")
    for column in ("measure", "value", "detail"):
        out.add_column(column)
    for r in loads:
        out.add_row(
            f"predict {r.mode}",
            f"{r.rps:.1f} req/s",
            f"{r.requests} requests; HTTP p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms; "
            f"model only p50 {r.model_p50_ms:.1f} ms",
        )
    for full in (r for r in loads if r.mode.startswith("with ")):
        mode = full.mode.removeprefix("with attribution ")
        out.add_row(
            f"attribution overhead (HTTP p50) {mode}",
            f"{full.p50_ms / bare.p50_ms - 1:+.0%}",
            "target: at most +50% over the bare forward pass",
        )
        out.add_row(
            f"attribution overhead (model only) {mode}",
            f"{full.model_p50_ms / bare.model_p50_ms - 1:+.0%}",
            "the answer's forward + its backward (tracked LoRA blocks) + index product vs forward",
        )
    for g in gas:
        out.add_row(
            f"epoch paying {g.contributors} contributors",
            f"post {g.post:,} gas",
            f"finalize {g.finalize:,}; mean claim {g.mean_claim:,}; "
            f"report {g.report_bytes / 1024:.1f} KiB ({g.source})",
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="paid predictions per mode")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time limit per mode")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console(stderr=args.json)
    from worker.billing import ReceiptLog
    from worker.chain.devnet import LocalChain

    workdir = CACHE / "run"
    shutil.rmtree(workdir, ignore_errors=True)
    chain = LocalChain.start()
    try:
        actors, store = Actors(chain), LocalStore(workdir / "ipfs")
        actors.fund_everyone(100_000 * OPEN)
        model_id = live_model(actors, store, console)
        receipts = ReceiptLog(workdir / "receipts.sqlite")
        loads = run_load(actors, store, workdir, model_id, args, receipts)
        gas = [real_epoch_gas(actors, store, model_id, receipts)]
        gas += [synthetic_epoch_gas(actors, store, model_id, n) for n in GAS_SIZES]
    finally:
        chain.stop()
    if args.json:
        print(
            json.dumps(
                {"load": [asdict(r) | {"rps": r.rps} for r in loads], "gas": [asdict(g) for g in gas]},
                indent=2,
            )
        )
    else:
        console.print(table(loads, gas))


if __name__ == "__main__":
    main()
