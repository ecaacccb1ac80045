"""The cross-task yardstick (`make bench-tasks`, also run by `make bench-attribution`): every task of
bench/attribution_data.py (`TASKS`: tweets and film reviews for classification, news headlines for
generation, from different packages and domains), each with its own ground truth cache, scored the same
way, and the defaults chosen by leave-one-task-out validation.

Per task:
- ground truth: label-stratified half-size subsets retrained twice (bench/attribution_truth.py; for the
  generation task plain random halves, it has no labels), the measurement each retrain gives every
  held-out query (a classifier's margin, a language model's log-likelihood of the query text);
- references: the split-half ceiling and the model-free label-only baseline (classification);
- our method over a grid of knobs: tracked LoRA blocks (`lora_layers`), query gradients at the final
  adapter or at every checkpoint (`query_checkpoints`), index members (every checkpoint or the final one)
  and the preconditioner (damping ratio, or none: Grad-Dot on our features);
- peers on the same adapter, explaining the same measurement with the same loss: kronfluence (EK-FAC,
  identity), traker's TRAK (its defaults, and damped by our rule), dattri's DataInf and exact Grad-Dot;
- cost (`--only latency`, on a quiet machine): each share's index build and one query's latency in
  each query mode.
Every LDS is the label-partialled one (the plain one is kept in the JSON).

Leave-one-task-out: for each task, the configuration with the best mean LDS on the *other* tasks is
the one reported for it, so no task's figure comes from knobs tuned on it. The configuration with the
best mean over all tasks is the recommended default. Results: a markdown table on stdout and
.bench-cache/attribution-tasks.json.

Sizes (`--train`, `--queries`, `--subsets`) are per run and part of each cache folder's name; a run
of some tasks (`--tasks`) keeps the others' results in the JSON, so each task can run at its own size
(`make bench-tasks` runs the classification tasks at 320 records and 24 subsets, and the generation
task, a 135M language model, at 160 records and 16 subsets); `--only peers|latency` reruns that part of
a task alone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.attribution import peer_methods, query_latency, variant_scores  # noqa: E402
from bench.attribution_data import (  # noqa: E402
    CACHES,
    TASKS,
    THREADS,
    BenchTask,
    build,
    data_key,
    queried_at,
    trained_model,
)
from bench.attribution_metrics import Yardstick, load_truth  # noqa: E402
from bench.attribution_truth import PROTOCOLS, subset_labels, truth_dir  # noqa: E402
from bench.attribution_truth import run as run_truth  # noqa: E402
from worker.attribution import (  # noqa: E402
    Analyzer,
    AttributionArguments,
    AttributionIndex,
    FeatureArguments,
)
from worker.train import reusing_bases  # noqa: E402

LORA_SHARES = (1.0, 0.33, 0.16)
QUERY_MODES = ("final", "all")
MEMBERS = ("all", "final")
DAMPING = (None, 3.0, 30.0, 300.0)  # None: the plain dot product (Grad-Dot on our features)
PROTOCOL = "stratified"
RESULTS = CACHES / "attribution-tasks.json"


@dataclass(frozen=True)
class Config:
    """One point of the grid; `name` keys it in the JSON."""

    lora_layers: float
    query: str
    members: str
    damping: float | None

    @property
    def name(self) -> str:
        damping = "dot" if self.damping is None else f"damping{self.damping:g}"
        return f"layers{self.lora_layers:g}-query_{self.query}-members_{self.members}-{damping}"

    @property
    def is_default(self) -> bool:
        defaults = AttributionArguments()
        return (
            self.lora_layers == defaults.features.lora_layers
            and self.query == defaults.score.query_checkpoints
            and self.members == defaults.features.checkpoints
            and self.damping == defaults.preconditioner.damping_ratio
        )


GRID = tuple(Config(*point) for point in itertools.product(LORA_SHARES, QUERY_MODES, MEMBERS, DAMPING))


def task_yardstick(task: BenchTask, train, queries) -> Yardstick:
    masks, margins = load_truth(truth_dir(train, queries, PROTOCOL, task))
    labels = [str(r["label"]) for r in train] if task.kind == "classification" else None
    query_labels = [str(q["label"]) for q in queries] if labels is not None else None
    return Yardstick(masks, margins, PROTOCOLS[PROTOCOL], labels, query_labels)


def task_model(task: BenchTask) -> tuple[list[dict], list[dict], Path]:
    """The task's training records, its queries and the model trained on them (cached)."""
    train, queries = task.split("eval")
    return train, queries, trained_model(f"model-{data_key(train, queries, task)}-seed0", train, task=task)


def share_analyzers(
    model_dir: Path, train: list[dict], share: float
) -> tuple[dict[str, Analyzer], AttributionIndex, float]:
    """One index tracking `share` of the LoRA blocks (not saved, its build timed) and an analyzer per
    query mode ("final", "all") on it, both on one loaded model."""
    features = AttributionArguments(features=FeatureArguments(lora_layers=share))
    final, index, build_s = build(model_dir, train, queried_at("final", features), save=False)
    every = Analyzer(model_dir, queried_at("all", features), loaded=final.loaded)
    return {"final": final, "all": every}, index, build_s


def grid_scores(model_dir: Path, train, queries, yard: Yardstick) -> tuple[dict[str, dict], dict[str, float]]:
    """LDS of every grid point; one index per tracked share, the rest re-scored from its features."""
    out: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    for share in LORA_SHARES:
        analyzers, index, seconds[f"index_build_s_layers{share:g}"] = share_analyzers(model_dir, train, share)
        feats = {mode: a.query_features(queries)[0] for mode, a in analyzers.items()}
        last = len(index.members) - 1
        for config in (c for c in GRID if c.lora_layers == share):
            members = list(range(len(index.members))) if config.members == "all" else [last]
            q = feats[config.query]
            q = q if config.members == "all" or len(q) == 1 else [q[last]]
            out[config.name] = yard.score(variant_scores(index, q, config.damping, members))
    return out, seconds


def query_latencies(task: BenchTask) -> dict[str, float]:
    """What each tracked share and query mode costs on the task's model: the index build (1 thread) and
    the median of one query answered alone (its gradient(s), scoring, top-10; 2 threads)."""
    train, queries, model_dir = task_model(task)
    out: dict[str, float] = {}
    for share in LORA_SHARES:
        analyzers, index, out[f"index_build_s_layers{share:g}"] = share_analyzers(model_dir, train, share)
        for mode, answering in analyzers.items():
            out[f"query_ms_layers{share:g}_{mode}"] = query_latency(answering, index, queries, 2)["median_ms"]
    return out


def task_peers(task: BenchTask) -> object:
    """The peers alone, on the task's model and ground truth."""
    train, queries, model_dir = task_model(task)
    return peer_methods(model_dir, train, queries, task_yardstick(task, train, queries))


PARTS = {"latency": query_latencies, "peers": task_peers}


def task_results(task: BenchTask, subsets: int, replicates: int, peers: bool) -> dict[str, object]:
    started = time.perf_counter()
    run_truth(subsets, replicates, "eval", PROTOCOL, task)  # resumes: only missing retrains run
    truth_s = time.perf_counter() - started
    train, queries, model_dir = task_model(task)
    yard = task_yardstick(task, train, queries)
    grid, cost = grid_scores(model_dir, train, queries, yard)
    result: dict[str, object] = {
        "task": task.name,
        "kind": task.kind,
        "source": task.source,
        "base_model": task.base_model,
        "train": len(train),
        "queries": len(queries),
        "stratified_by_label": subset_labels(train, PROTOCOL) is not None,
        **yard.references(),
        "grid": grid,
        "cost": {**cost, "truth_s_this_run": truth_s},
    }
    if peers:
        result["peers"] = peer_methods(model_dir, train, queries, yard)
    return result


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _lds(entry: object) -> float | None:
    value = entry.get("lds_partialled") if isinstance(entry, dict) else None
    return None if value is None else float(value)


def best_peer(result: dict) -> tuple[str, float] | None:
    peers = result.get("peers")
    if not isinstance(peers, dict):
        return None
    scored = [
        (name, v)
        for name, entry in peers.items()
        if (v := _lds(entry.get("lds") if isinstance(entry, dict) else None)) is not None
    ]
    return max(scored, key=lambda item: item[1]) if scored else None


def leave_one_task_out(results: dict[str, dict]) -> dict[str, object]:
    """For each task, the grid point with the best mean LDS over the other tasks, and its LDS here."""
    names = [c.name for c in GRID]
    table = {t: {n: _lds(r["grid"][n]) for n in names} for t, r in results.items()}

    def mean_over(tasks: list[str], name: str) -> float:
        values = [table[t][name] for t in tasks]
        return (
            float(np.mean([v for v in values if v is not None]))
            if all(v is not None for v in values)
            else -1.0
        )

    out: dict[str, object] = {}
    for held in results:
        others = [t for t in results if t != held]
        if not others:  # one task alone has nothing to choose on
            out[held] = {"chosen_on_others": None, "lds": None}
            continue
        chosen = max(names, key=lambda n: mean_over(others, n))
        out[held] = {"chosen_on_others": chosen, "lds": table[held][chosen]}
    every = list(results)
    out["recommended_default"] = max(names, key=lambda n: mean_over(every, n))
    out["current_default"] = next(c.name for c in GRID if c.is_default)
    return out


def markdown(results: dict[str, dict], loto: dict[str, object]) -> str:
    default = str(loto["current_default"])
    grad_dot = next(
        c.name
        for c in GRID
        if c.lora_layers == 1.0 and c.query == "final" and c.members == "final" and c.damping is None
    )
    columns = (
        "task", "source", "ceiling", "label-only", "ours, default", "ours, leave-one-task-out",
        "Grad-Dot (our features, final adapter, every block)", "best peer", "ours LOTO / best peer",
    )  # fmt: skip
    lines = ["| " + " | ".join(columns) + " |", "|---|---|" + "---:|" * (len(columns) - 2)]
    for name, r in results.items():
        held = loto[name]
        assert isinstance(held, dict)
        peer = best_peer(r)
        ours_loto = held["lds"]
        ratio = "" if peer is None or ours_loto is None or peer[1] <= 0 else f"{ours_loto / peer[1]:.2f}x"
        cells = (
            f"{name} ({r['kind']}, {r['train']} records)",
            r["source"],
            _cell(_lds(r["split_half_ceiling"])),
            _cell(_lds(r.get("label_only"))),
            _cell(_lds(r["grid"][default])),
            _cell(ours_loto),
            _cell(_lds(r["grid"][grad_dot])),
            "-" if peer is None else f"{peer[1]:.3f} ({peer[0]})",
            ratio or "-",
        )
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *peer_table(results, str(loto["recommended_default"])), ""]
    lines.append(f"Current default: `{default}`.")
    lines.append(f"Best mean over every task: `{loto['recommended_default']}`.")
    for name in results:
        held = loto[name]
        assert isinstance(held, dict)
        lines.append(f"- {name}: chosen on the other tasks: `{held['chosen_on_others']}`")
    latency = latency_table(results)
    return "\n".join([*lines, *([""] + latency if latency else [])])


def latency_table(results: dict[str, dict]) -> list[str]:
    """Per task (those timed with `--only latency`): each share's index build (s, 1 thread) and one
    query's median (ms, 2 threads) at the final adapter and at every checkpoint."""
    timed = {name: r["latency"] for name, r in results.items() if isinstance(r.get("latency"), dict)}
    if not timed:
        return []
    head = [f"layers {share:g}: index s / final ms / all ms" for share in LORA_SHARES]
    lines = ["| task | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    for name, t in timed.items():
        cells = [
            f"{t[f'index_build_s_layers{share:g}']:.0f} / {t[f'query_ms_layers{share:g}_final']:.1f} / "
            f"{t[f'query_ms_layers{share:g}_all']:.1f}"
            for share in LORA_SHARES
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


PEERS = (
    "kronfluence_ekfac", "kronfluence_identity", "traker_trak_damped", "traker_trak_defaults",
    "dattri_datainf", "dattri_grad_dot",
)  # fmt: skip


def peer_table(results: dict[str, dict], recommended: str) -> list[str]:
    """Every peer's label-partialled LDS per task, beside ours with the knobs best over every task."""
    lines = ["| task | ours, best over every task | " + " | ".join(PEERS) + " |"]
    lines.append("|---|" + "---:|" * (len(PEERS) + 1))
    for name, r in results.items():
        peers = r.get("peers") if isinstance(r.get("peers"), dict) else {}
        cells = [_cell(_lds(peers[p].get("lds"))) if isinstance(peers.get(p), dict) else "-" for p in PEERS]
        lines.append(f"| {name} | {_cell(_lds(r['grid'][recommended]))} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated, from: " + ", ".join(TASKS))
    parser.add_argument("--train", type=int, default=320, help="training records per task")
    parser.add_argument("--queries", type=int, default=48, help="held-out queries per task")
    parser.add_argument("--subsets", type=int, default=24, help="retrained subsets per task (x2 replicates)")
    parser.add_argument("--no-peers", action="store_true", help="leave the peer packages out")
    parser.add_argument(
        "--only",
        choices=PARTS,
        help="rerun one part of a task's saved results: the timings of each share and query mode "
        "(latency) or the peers (peers); the rest is kept",
    )
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    for name in args.tasks.split(","):
        task = TASKS[name].sized(args.train, args.queries)
        before = _saved_tasks().get(name) or {}
        same_size = (before.get("train"), before.get("queries")) == (task.n_train, task.n_query)
        if args.only and not same_size:
            sys.exit(f"{name}: no saved results at this size for {args.only}; run it without --only first")
        with reusing_bases():  # retrains, the model and its indexes build one base: loaded once
            part = PARTS[args.only](task) if args.only else None
            result = {} if args.only else task_results(task, args.subsets, 2, peers=not args.no_peers)
        saved = _saved_tasks()  # read again now: another run (another task, its own size) may have ended
        if args.only:
            result = {**saved[name], args.only: part}
        elif same_size and "latency" in saved.get(name, {}):  # the same cached model: its timings hold
            result["latency"] = saved[name]["latency"]
        saved[name] = result
        RESULTS.write_text(json.dumps({"tasks": saved}, indent=2, sort_keys=True))
        print(json.dumps({"task": name, "done": True}), flush=True)
    saved = _saved_tasks()
    results = {name: saved[name] for name in TASKS if name in saved}
    loto = leave_one_task_out(results)
    RESULTS.write_text(json.dumps({"tasks": results, "leave_one_task_out": loto}, indent=2, sort_keys=True))
    print(markdown(results, loto))


def _saved_tasks() -> dict[str, dict]:
    """Results of tasks run earlier (each at the size it ran), which stay in the table."""
    return dict(json.loads(RESULTS.read_text())["tasks"]) if RESULTS.is_file() else {}


if __name__ == "__main__":
    main()
