"""The benchmark's markdown tables, from results.json's dictionary (bench/attribution.py)."""

from __future__ import annotations

NONE = ("—", "—", "—")

MISLABEL_ROWS = (
    ("ours_mislabel_loo", "**ours: leave-one-out margin of the linearised final model** (`mislabel_scores`)"),
    (
        "ours_negative_model_level",
        "ours: negative influence on the clean held-out margin (the `attribute` flag)",
    ),
    ("ours_negative_model_level_all_checkpoints", "the same, query gradients at every checkpoint"),
    ("ours_self_influence", "ours: self-influence (3 checkpoints)"),
    ("ours_relatif", "ours: RelatIF"),
    ("tracin_cp_self_influence", "TracIn-CP self-influence"),
    ("tracin_cp_negative_model_level", "TracIn-CP influence on the held-out margin"),
    ("training_loss_mean_over_checkpoints", "baseline: training loss, mean over checkpoints"),
    ("training_loss_final", "baseline: training loss, final model"),
    ("reference_crossfit_loss_4_trainings", "reference: 4-fold cross-fitted loss (4 extra trainings)"),
)


def _fmt(value, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def _latency(cost: dict, mode: str) -> str:
    two, one = cost[f"latency_{mode}_2_threads"], cost[f"latency_{mode}_1_threads"]
    return f"{two['median_ms']:.1f} (p95 {two['p95_ms']:.0f}; 1 thread {one['median_ms']:.0f})"


def lds_rows(results: dict) -> list[tuple]:
    lds_, cost, dense = results["lds"], results["cost"], results["dense_projection"]
    build, peak = f"{cost['index_build_s']:.0f}", f"{cost['peak_rss_mib']:.0f}"
    rows = [
        ("**ours** (query gradient at the final adapter, 3-checkpoint index)", lds_["ours"], build,
         _latency(cost, "final"), peak),
        (f"ours, the same with `compile_queries` (torch.compile, {cost['compile_s']:.0f} s once)",
         lds_["ours"], build, _latency(cost, "compiled"), peak),
        ("ours, query gradients at every checkpoint (one stacked pass)", lds_["ours_all_checkpoint_queries"],
         build, _latency(cost, "all"), peak),
        ("ours, final checkpoint only (index and query)", lds_["ours_final_checkpoint_only"], *NONE),
        ("ours, dense Rademacher projection (as before the count sketch), final-adapter query",
         dense["lds"], f"{dense['index_build_s']:.0f}", "—", "—"),
        ("ours, dense Rademacher projection, every-checkpoint queries",
         dense["lds_all_checkpoint_queries"], *NONE),
        ("Grad-Dot on our features, 3 checkpoints (TracIn-CP-like)", lds_["grad_dot"], *NONE),
        ("Grad-Dot on our features, final checkpoint", lds_["grad_dot_final_checkpoint"], *NONE),
    ]  # fmt: skip
    for name, v in results["peers"].items():
        if isinstance(v, dict):
            rows.append((name, v["lds"], f"{v['seconds']:.0f} (fit + all 80 queries)", "batch only",
                         f"{v['peak_rss_mib']:.0f}"))  # fmt: skip
        else:
            rows.append((f"{name}: {v}", None, *NONE))
    rows.append(("split-half ceiling (one retrain vs another)", results["split_half_ceiling"], *NONE))
    return rows


def table(results: dict) -> str:
    lines = [
        "| method | LDS | index build s | per-query ms (2 threads) | peak memory MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {_fmt(d)} | {b} | {q} | {m} |" for n, d, b, q, m in lds_rows(results)]
    auc = results["mislabel_auc"]
    lines += ["", "| mislabel signal (20% flipped, ROC-AUC) | dev | eval |", "|---|---:|---:|"]
    lines += [
        f"| {label} | {_fmt(auc['dev'].get(key))} | {_fmt(auc['eval'].get(key))} |"
        for key, label in MISLABEL_ROWS
    ]
    scale = results["scale_scoring_ms"]
    lines.append(
        f"\nScale (scoring + top-10 of one query, synthetic {len(results['scale_members'])}-member index, "
        f"final-adapter query / every-checkpoint queries): 10k rows {scale['10000']['final']:.1f} / "
        f"{scale['10000']['all']:.1f} ms, 100k rows {scale['100000']['final']:.1f} / "
        f"{scale['100000']['all']:.1f} ms."
    )
    sweep = results["lds"]["damping_sweep_query_halves"]
    lines.append("\nDamping ratio sweep (LDS on the two halves of the eval queries): " + ", ".join(
        f"{r}: {a:.3f}/{b:.3f}" for r, (a, b) in sweep.items()))  # fmt: skip
    shares = results.get("lora_layers_lds")
    if shares:
        lines += ["", "| `lora_layers` (share of LoRA blocks tracked, from the top) | dev LDS | eval LDS | "
                  "per-query ms (eval) | index build s |", "|---|---:|---:|---:|---:|"]  # fmt: skip
        for share, row in shares["eval"].items():
            dev_lds = (shares.get("dev") or {}).get(share, {}).get("lds")
            name = f"{share} ({row['parameters']:,} parameters)"
            lines.append(f"| {name} | {_fmt(dev_lds)} | {_fmt(row['lds'])} | {row['per_query_ms']:.1f} | "
                         f"{row['index_build_s']:.0f} |")  # fmt: skip
    dev = results.get("dev_damping_lds")
    if dev:
        ratios = ", ".join(f"{k}: {v:.3f}" for k, v in dev.items() if k not in ("subsets", "replicates"))
        lines.append(f"Damping ratio sweep on the dev split ({dev['subsets']} subsets): {ratios}")
    return "\n".join(lines)
