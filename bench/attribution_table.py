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


NO_LDS = {"lds": None, "lds_partialled": None}


def _fmt(value, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def _pair(value) -> tuple[str, str]:
    """An LDS entry's two columns: plain, and with label balance partialled out (older results.json
    files held the plain figure alone)."""
    if isinstance(value, dict):
        return _fmt(value.get("lds")), _fmt(value.get("lds_partialled"))
    return _fmt(value), "—"


def _latency(cost: dict, mode: str) -> str:
    two, one = cost.get(f"latency_{mode}_2_threads"), cost.get(f"latency_{mode}_1_threads")
    if two is None or one is None:
        return "—"
    return f"{two['median_ms']:.1f} (p95 {two['p95_ms']:.0f}; 1 thread {one['median_ms']:.0f})"


def reference_rows(results: dict) -> list[tuple]:
    """Printed under every LDS table: how high a retrain gets, and what labels alone get."""
    ceiling = results.get("split_half_ceiling")
    label_only = results.get("label_only")
    return [
        ("split-half ceiling (one retrain seed vs the other)", ceiling, *NONE),
        ("baseline: label only (+1 same label as the query, -1 otherwise; no model)",
         label_only if label_only is not None else NO_LDS, *NONE),
    ]  # fmt: skip


def lds_rows(results: dict) -> list[tuple]:
    lds_, cost = results["lds"], results["cost"]
    build, peak = f"{cost['index_build_s']:.0f}", f"{cost['peak_rss_mib']:.0f}"
    rows = [
        ("**ours** (query gradient at the final adapter, 3-checkpoint index)", lds_["ours"], build,
         _latency(cost, "final"), peak),
    ]  # fmt: skip
    if "compile_s" in cost:
        rows.append((f"ours, the same with `compile_queries` (torch.compile, {cost['compile_s']:.0f} s once)",
                     lds_["ours"], build, _latency(cost, "compiled"), peak))  # fmt: skip
    rows += [
        ("ours, query gradients at every checkpoint (one stacked pass)", lds_["ours_all_checkpoint_queries"],
         build, _latency(cost, "all"), peak),
        ("ours, final checkpoint only (index and query)", lds_["ours_final_checkpoint_only"], *NONE),
    ]  # fmt: skip
    dense = results.get("dense_projection")
    if dense:
        rows += [
            ("ours, dense Rademacher projection (as before the count sketch), final-adapter query",
             dense["lds"], f"{dense['index_build_s']:.0f}", "—", "—"),
            ("ours, dense Rademacher projection, every-checkpoint queries",
             dense["lds_all_checkpoint_queries"], *NONE),
        ]  # fmt: skip
    rows += [
        ("Grad-Dot on our features, 3 checkpoints (TracIn-CP-like)", lds_["grad_dot"], *NONE),
        ("Grad-Dot on our features, final checkpoint", lds_["grad_dot_final_checkpoint"], *NONE),
    ]
    for name, v in (results.get("peers") or {}).items():
        if isinstance(v, dict):
            rows.append((name, v["lds"], f"{v['seconds']:.0f} (fit + all queries)", "batch only",
                         f"{v['peak_rss_mib']:.0f}"))  # fmt: skip
        else:
            rows.append((f"{name}: {v}", NO_LDS, *NONE))
    return rows + reference_rows(results)


def protocol_line(results: dict) -> str:
    protocol = results.get("protocol", "random-half (before protocols were recorded)")
    stratified = "label-stratified" if results.get("stratified_by_label") else "not stratified"
    quick = " QUICK SMOKE RUN: a tiny slice, not a measurement." if results.get("quick") else ""
    return (
        f"Ground truth: {results.get('subsets')} subsets ({protocol}, {stratified}) x "
        f"{results.get('replicates')} retrain seeds; 'partialled': label shares regressed out of both "
        f"the predicted sums and the retrained margins.{quick}"
    )


def table(results: dict) -> str:
    lines = [
        protocol_line(results),
        "",
        "| method | LDS | LDS, label balance partialled | index build s | per-query ms (2 threads) | "
        "peak memory MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {' | '.join(_pair(d))} | {b} | {q} | {m} |" for n, d, b, q, m in lds_rows(results)]
    auc = results.get("mislabel_auc")
    if auc:
        lines += ["", "| mislabel signal (20% flipped, ROC-AUC) | dev | eval |", "|---|---:|---:|"]
        lines += [
            f"| {label} | {_fmt(auc['dev'].get(key))} | {_fmt(auc['eval'].get(key))} |"
            for key, label in MISLABEL_ROWS
        ]
    scale = results.get("scale_scoring_ms")
    if scale:
        lines.append(
            f"\nScale (scoring + top-10 of one query, synthetic {len(results['scale_members'])}-member "
            "index, "
            f"final-adapter query / every-checkpoint queries): 10k rows {scale['10000']['final']:.1f} / "
            f"{scale['10000']['all']:.1f} ms, 100k rows {scale['100000']['final']:.1f} / "
            f"{scale['100000']['all']:.1f} ms."
        )
    sweep = results["lds"]["damping_sweep_query_halves"]
    halves = ", ".join(f"{r}: {a:.3f}/{b:.3f}" for r, (a, b) in sweep.items())
    lines.append(f"\nDamping ratio sweep (label-partialled LDS, two halves of the eval queries): {halves}")
    shares = results.get("lora_layers_lds")
    if shares:
        lines += ["", "| `lora_layers` (share of LoRA blocks tracked, from the top) "
                  "| dev LDS (plain / partialled) | eval LDS (plain / partialled) | per-query ms (eval) "
                  "| index build s |",
                  "|---|---:|---:|---:|---:|"]  # fmt: skip
        for share, row in shares["eval"].items():
            dev_lds = (shares.get("dev") or {}).get(share, {}).get("lds")
            name = f"{share} ({row['parameters']:,} parameters)"
            lines.append(f"| {name} | {' / '.join(_pair(dev_lds))} | {' / '.join(_pair(row['lds']))} | "
                         f"{row['per_query_ms']:.1f} | {row['index_build_s']:.0f} |")  # fmt: skip
    dev = results.get("dev_damping_lds")
    if dev:
        ratios = ", ".join(
            f"{k}: {'/'.join(_pair(v))}" for k, v in dev.items() if k not in ("subsets", "replicates")
        )
        lines.append(
            f"Damping ratio sweep on the dev split ({dev['subsets']} subsets; plain/partialled): {ratios}"
        )
    lines += ["", *reference_lines(results)]
    return "\n".join(lines)


def reference_lines(results: dict) -> list[str]:
    """A reminder under the tables of how to read them against the references."""
    ceiling = results.get("split_half_ceiling") or {}
    plain = ceiling.get("lds") if isinstance(ceiling, dict) else ceiling
    return [
        f"A method above the split-half ceiling ({_fmt(plain)}) predicts something the retrains share beyond "
        "the data's effect; the label-only baseline shows how much of an LDS label balance alone explains."
    ]
