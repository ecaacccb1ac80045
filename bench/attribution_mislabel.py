"""Mislabel detection: flip 20% of the training labels, train once, rank the records; ROC-AUC per signal.

Run on two splits: "dev" (other records, another flip draw) is where the signal of
worker/attribution/mislabel.py and its ridge were chosen; "eval" is what the README reports. A 4-fold
cross-fitted loss (4 extra trainings, each record scored by a model that never saw it) is reported as a
reference for what this model family can tell apart at all: the corpus' own labels are noisy (many
tweets are neutral but labelled positive or negative), and a flipped label on such a tweet cannot be
detected by any method.

Across tasks (`--tasks`, also run by `make bench-tasks`): every classification task of
bench/attribution_data.py at 10 % and 20 % flips, the task's own training records, the signal fixed
beforehand (no choice is made on these figures); results in .bench-cache/attribution-mislabel-tasks.json.
Two more columns there:
- a leave-one-out ridge on the tuned model's mean-pooled representations (the `mislabel_scores` ridge,
  on the representation instead of the margin gradients): it beat ours on all four task dev slices and
  is printed so that whether it holds on the reported slices is measured, not assumed;
- a clean reference: a model of the same spec trained on CLEAN_REFERENCE_RECORDS other records of the
  source with their true labels, scoring each training record's given label. It is not a detector (it
  needs clean data the detectors do not get); it is what this model family can tell apart with three
  times the data and no noise, an upper reference for the AUC any in-sample signal could reach.
One flip draw is one draw: `--draws` (default 11,12,13) retrains on further flip draws of the same records
and prints the in-sample signals' mean over every draw, and how often ours beats the loss.
One model is one training seed: `--training-seeds 0,1,2 [--split dev]` trains a model per seed on the
same flipped records and prints, per in-sample signal, one model's AUC beside that of the mean over the
models (results in .bench-cache/attribution-mislabel-seeds-<split>.json).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.attribution_data import (  # noqa: E402
    CACHES,
    SPLIT_START,
    TASKS,
    THREADS,
    TWEETS,
    BenchTask,
    bench_split,
    build,
    data_key,
    queried_at,
    trained_model,
)
from bench.attribution_metrics import roc_auc  # noqa: E402
from bench.attribution_truth import query_margins  # noqa: E402
from worker.attribution import Analyzer  # noqa: E402
from worker.attribution.mislabel import leave_one_out_margin, mislabel_scores, ridge_for  # noqa: E402
from worker.errors import DataError  # noqa: E402
from worker.train import load_trained, reusing_bases, train_in_memory  # noqa: E402
from worker.train.batches import collate, encode_records  # noqa: E402

FLIP_FRACTION = 0.2
FLIP_SEEDS = {"eval": 7, "dev": 8}
FOLDS = 4
CLEAN_REFERENCE_RECORDS = 1000
ALL_CHECKPOINT_QUERIES = queried_at("all")


TASK_FRACTIONS = (0.1, 0.2)
TASK_RESULTS = CACHES / "attribution-mislabel-tasks.json"
REPORTED = (  # in every task table
    "ours_mislabel_loo",
    "ours_negative_model_level",
    "representation_loo",
    "training_loss_final",
    "reference_crossfit_loss_4_trainings",
    "reference_clean_model_3x_records",
)
DRAWN = ("ours_mislabel_loo", "representation_loo", "training_loss_final")  # on every flip draw
EXTRA_DRAWS = "11,12,13"


def flip_labels(
    train: list[dict], labels: tuple[str, ...], fraction: float, seed: int
) -> tuple[list[dict], np.ndarray]:
    """`train` with `fraction` of its labels moved to the next label (a seeded draw of rows), the mask."""
    rows = set(random.Random(seed).sample(range(len(train)), int(fraction * len(train))))
    following = {label: labels[(i + 1) % len(labels)] for i, label in enumerate(labels)}
    noisy = [dict(r, label=following[r["label"]]) if i in rows else r for i, r in enumerate(train)]
    return noisy, np.array([i in rows for i in range(len(noisy))])


def flipped(split: str) -> tuple[list[dict], list[dict], np.ndarray]:
    """The split's training records with 20% of labels flipped (seeded), its clean queries, the flip mask."""
    train, held_out = bench_split(split)
    noisy, mask = flip_labels(train, ("negative", "positive"), FLIP_FRACTION, FLIP_SEEDS[split])
    return noisy, held_out, mask


def signals(index, held_final: list[torch.Tensor], held_members: list[torch.Tensor]) -> dict[str, np.ndarray]:
    """Every per-record signal (higher = more suspicious). `held_*`: clean held-out measurement features,
    at the final adapter only (what `attribute` uses) and at every checkpoint."""
    feats = [m.features.double() for m in index.members]
    pre = [m.preconditioned.double() for m in index.members]
    self_inf = [(f * p).sum(1) for f, p in zip(feats, pre, strict=True)]
    held = [q.double().mean(0) for q in held_members]
    return {
        "ours_mislabel_loo": mislabel_scores(index).numpy(),
        # minus the influence on the mean margin of clean held-out records (what `attribute` flags)
        "ours_negative_model_level": -index.scores(held_final).mean(0).numpy(),
        "ours_negative_model_level_all_checkpoints": -index.scores(held_members).mean(0).numpy(),
        # g_i^T (F + lambda)^-1 g_i averaged over the checkpoints (TracIn-CP style, preconditioned)
        "ours_self_influence": torch.stack(self_inf).mean(0).numpy(),
        # RelatIF (Barshan et al. 2020): self-influence over the norm of the preconditioned gradient
        "ours_relatif": torch.stack([s / p.norm(dim=1) for s, p in zip(self_inf, pre, strict=True)])
        .mean(0)
        .numpy(),
        "tracin_cp_self_influence": torch.stack([(f**2).sum(1) for f in feats]).sum(0).numpy(),
        "tracin_cp_negative_model_level": torch.stack([f @ h for f, h in zip(feats, held, strict=True)])
        .sum(0)
        .numpy(),
        "training_loss_mean_over_checkpoints": index.mean_loss().numpy(),
        "training_loss_final": index.members[-1].losses.numpy(),
    }


def crossfit_margins(noisy: list[dict], task: BenchTask = TWEETS) -> np.ndarray:
    """Each record's margin under a model trained on the other folds (cached: 4 trainings)."""
    path = task.cache / f"crossfit-{data_key(noisy, [], task)}.npy"
    if path.exists():
        return np.load(path)
    order = np.random.default_rng(0).permutation(len(noisy))
    margins = np.zeros(len(noisy))
    for fold in range(FOLDS):
        out = np.sort(order[fold::FOLDS])
        keep = [noisy[i] for i in np.setdiff1d(np.arange(len(noisy)), out)]
        loaded, _, _ = train_in_memory(task.spec(seed=500 + fold), keep)
        margins[out] = query_margins(loaded, [noisy[i] for i in out]).numpy()
    np.save(path, margins)
    return margins


def clean_reference_margins(noisy: list[dict], task: BenchTask) -> np.ndarray:
    """Each training record's margin for its given (possibly flipped) label under a model trained on the
    source's last CLEAN_REFERENCE_RECORDS records, which no split reaches, with their true labels."""
    every = task.records()
    reached = max(SPLIT_START.values()) + task.n_train + task.n_query
    if len(every) - CLEAN_REFERENCE_RECORDS < reached:
        raise DataError(f"task {task.name}: {len(every)} records, too few for a disjoint clean reference")
    reference = [dict(r) for r in every[-CLEAN_REFERENCE_RECORDS:]]
    model_dir = trained_model(f"model-{data_key(reference, [], task)}-clean-reference", reference, task=task)
    with torch.no_grad():
        return query_margins(load_trained(model_dir), noisy).numpy()


@torch.no_grad()
def representation_loo(loaded, noisy: list[dict]) -> np.ndarray:
    """Minus each record's leave-one-out ridge prediction of its own (+1 / -1) label from the tuned
    model's mean-pooled, unit-norm last hidden states (two labels; the ridge of mislabel.py)."""
    spec = loaded.spec
    if len(spec.labels) != 2:
        raise ValueError("representation_loo is written for two labels")
    encoded = encode_records(noisy, loaded.tokenizer, "classification", spec.labels, spec.max_length)
    examples = encoded.examples
    pooled, signs = [], []
    for start in range(0, len(examples), 32):
        batch = collate(examples[start : start + 32], loaded.tokenizer.pad_token_id)
        signs.append(1.0 - 2.0 * batch.pop("labels").double())
        hidden = loaded.model(**batch, output_hidden_states=True).hidden_states[-1]
        mask = batch["attention_mask"][..., None].to(hidden.dtype)
        pooled.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1))
    u = torch.cat(signs)[:, None] * torch.cat(pooled).double()
    return (-leave_one_out_margin(u, ridge_for(u))).numpy()


def auc_per_signal(
    model_dir: Path, noisy: list[dict], held_out: list[dict], is_flipped: np.ndarray
) -> dict[str, float]:
    """ROC-AUC of every signal: an index of the default arguments (queries at the final adapter, and at
    every checkpoint for the `_all_checkpoints` signal), clean held-out records as queries."""
    analyzer, index, _ = build(model_dir, noisy, queried_at("final"), save=False)
    held_final, _, _ = analyzer.query_features(held_out)
    every = Analyzer(model_dir, ALL_CHECKPOINT_QUERIES, loaded=analyzer.loaded)
    held_members, _, _ = every.query_features(held_out)
    found = signals(index, held_final, held_members)
    found["representation_loo"] = representation_loo(analyzer.loaded, noisy)
    return {k: roc_auc(v, is_flipped) for k, v in found.items()}


def detection(split: str, crossfit: bool = True) -> dict[str, float]:
    noisy, held_out, is_flipped = flipped(split)
    model_dir = trained_model(f"model-{data_key(noisy, [])}-flipped", noisy)
    out = auc_per_signal(model_dir, noisy, held_out, is_flipped)
    if crossfit:
        out["reference_crossfit_loss_4_trainings"] = roc_auc(-crossfit_margins(noisy), is_flipped)
    return out


def flipped_task_model(
    task: BenchTask, fraction: float, seed: int, split: str = "eval", training_seed: int = 0
) -> tuple[list[dict], list[dict], np.ndarray, Path]:
    """The task's `split` records with `fraction` of the labels flipped (draw `seed`), its clean queries,
    the flip mask, and the model trained on the flipped records with `training_seed` (cached)."""
    train, queries = task.split(split)
    noisy, is_flipped = flip_labels(train, task.labels, fraction, seed)
    name = f"model-{data_key(noisy, queries, task)}-flipped" + (
        f"-seed{training_seed}" if training_seed else ""
    )
    model_dir = trained_model(name, noisy, seed=training_seed, task=task)
    return noisy, queries, is_flipped, model_dir


def task_detection(task: BenchTask, fraction: float) -> dict[str, float]:
    """One training on the task's records with `fraction` of the labels flipped; AUC per signal."""
    noisy, queries, is_flipped, model_dir = flipped_task_model(task, fraction, FLIP_SEEDS["eval"])
    out = auc_per_signal(model_dir, noisy, queries, is_flipped)
    out["reference_crossfit_loss_4_trainings"] = roc_auc(-crossfit_margins(noisy, task), is_flipped)
    out["reference_clean_model_3x_records"] = roc_auc(-clean_reference_margins(noisy, task), is_flipped)
    return out


def in_sample_signals(model_dir: Path, noisy: list[dict]) -> dict[str, np.ndarray]:
    """The DRAWN signals (higher = more suspicious) from the model trained on `noisy`, nothing else."""
    analyzer, index, _ = build(model_dir, noisy, queried_at("final"), save=False)
    return {
        "ours_mislabel_loo": mislabel_scores(index).numpy(),
        "representation_loo": representation_loo(analyzer.loaded, noisy),
        "training_loss_final": index.members[-1].losses.numpy(),
    }


def draw_detection(task: BenchTask, fraction: float, seed: int) -> dict[str, float]:
    """The in-sample signals' AUC on one more flip draw (`seed`) of the task's records: one training."""
    noisy, _, is_flipped, model_dir = flipped_task_model(task, fraction, seed)
    found = in_sample_signals(model_dir, noisy)
    return {k: roc_auc(found[k], is_flipped) for k in DRAWN}


def ensemble_auc(scores: list[np.ndarray], is_flipped: np.ndarray) -> float:
    """AUC of the mean of the scores, each standardised first (models of other seeds differ in scale)."""
    return roc_auc(np.mean([(x - x.mean()) / x.std() for x in scores], axis=0), is_flipped)


def seed_ensemble(task: BenchTask, fraction: float, split: str, seeds: list[int]) -> dict[str, dict]:
    """The split's records with `fraction` of the labels flipped (draw FLIP_SEEDS[split]), one model per
    training seed (cached; seed 0 is the model the other tables use): each in-sample signal's AUC per
    model and the AUC of its mean over the models."""
    found: dict[str, list[np.ndarray]] = {k: [] for k in DRAWN}
    for seed in seeds:
        noisy, _, is_flipped, model_dir = flipped_task_model(task, fraction, FLIP_SEEDS[split], split, seed)
        signals_of_model = in_sample_signals(model_dir, noisy)
        for k in DRAWN:
            found[k].append(signals_of_model[k])
    return {
        k: {"models": [roc_auc(x, is_flipped) for x in v], "mean_of_models": ensemble_auc(v, is_flipped)}
        for k, v in found.items()
    }


def seeds_markdown(results: dict[str, dict]) -> str:
    """Per task and flip fraction: each in-sample signal's AUC from one model (mean and range over the
    training seeds) and from the mean of the models' scores."""
    lines = [
        "| task | flipped | seeds | " + " | ".join(f"{k}: one model / mean of models" for k in DRAWN) + " |",
        "|---|---:|---:|" + "---:|" * len(DRAWN),
    ]
    for name, by_fraction in results.items():
        for fraction, signals_found in by_fraction.items():
            cells = []
            for k in DRAWN:
                models = signals_found[k]["models"]
                cells.append(
                    f"{np.mean(models):.3f} ({min(models):.3f}-{max(models):.3f}) / "
                    f"{signals_found[k]['mean_of_models']:.3f}"
                )
            seeds = len(signals_found[DRAWN[0]]["models"])
            lines.append(f"| {name} | {float(fraction):.0%} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draws_markdown(results: dict[str, dict]) -> str:
    """Per task and flip fraction: each in-sample signal's mean AUC over the flip draws."""
    lines = [
        "| task | flipped | draws | ours (reported) | ridge on the representation | training loss"
        " | ours above the loss |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, by_fraction in results.items():
        for fraction, auc in by_fraction.items():
            draws = list(auc.get("draws", {}).values())
            if not draws:
                continue
            means = " | ".join(f"{np.mean([d[k] for d in draws]):.3f}" for k in DRAWN)
            above = sum(d["ours_mislabel_loo"] > d["training_loss_final"] for d in draws)
            lines.append(
                f"| {name} | {float(fraction):.0%} | {len(draws)} | {means} | {above} of {len(draws)} |"
            )
    return "\n".join(lines)


def task_markdown(results: dict[str, dict]) -> str:
    """One row per task and flip fraction: our reported signals beside the training-loss baseline."""
    lines = [
        "| task | flipped | ours: leave-one-out margin (reported) | ours: negative influence"
        " | leave-one-out ridge on the representation | training loss"
        " | reference: 4-fold cross-fitted loss | reference: clean model, 3x the records |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, by_fraction in results.items():
        for fraction, auc in by_fraction.items():
            cells = " | ".join(f"{auc[k]:.3f}" for k in REPORTED)
            lines.append(f"| {name} ({auc['train']} records) | {float(fraction):.0%} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    classifiers = [name for name, task in TASKS.items() if task.kind == "classification"]
    parser.add_argument("--tasks", default=",".join(classifiers), help="from: " + ", ".join(classifiers))
    parser.add_argument("--train", type=int, default=320, help="training records per task")
    parser.add_argument("--queries", type=int, default=48, help="clean held-out records per task")
    parser.add_argument(
        "--draws", default=EXTRA_DRAWS, help="seeds of further flip draws, comma-separated ('' for none)"
    )
    parser.add_argument(
        "--training-seeds",
        default="",
        help="instead of the tables: train one model per seed (comma-separated, e.g. 0,1,2) on --split "
        "and compare one model's signals with the mean over the models",
    )
    parser.add_argument("--split", default="dev", choices=sorted(FLIP_SEEDS), help="for --training-seeds")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.draws.split(",") if seed.strip()]
    torch.set_num_threads(THREADS)
    if args.training_seeds:
        training_seeds = [int(seed) for seed in args.training_seeds.split(",")]
        study = {
            name: {
                f"{fraction:g}": seed_ensemble(
                    TASKS[name].sized(args.train, args.queries), fraction, args.split, training_seeds
                )
                for fraction in TASK_FRACTIONS
            }
            for name in args.tasks.split(",")
        }
        (CACHES / f"attribution-mislabel-seeds-{args.split}.json").write_text(json.dumps(study, indent=2))
        print(seeds_markdown(study))
        return
    saved = json.loads(TASK_RESULTS.read_text()) if TASK_RESULTS.is_file() else {}
    for name in args.tasks.split(","):
        task = TASKS[name].sized(args.train, args.queries)
        with reusing_bases():
            saved[name] = {}
            for fraction in TASK_FRACTIONS:
                auc = {**task_detection(task, fraction), "train": task.n_train}
                draws = {FLIP_SEEDS["eval"]: {k: auc[k] for k in DRAWN}}
                draws.update({seed: draw_detection(task, fraction, seed) for seed in seeds})
                saved[name][f"{fraction:g}"] = {**auc, "draws": {str(k): v for k, v in draws.items()}}
        TASK_RESULTS.write_text(json.dumps(saved, indent=2, sort_keys=True))
    shown = {name: saved[name] for name in TASKS if name in saved}
    print(task_markdown(shown), draws_markdown(shown), sep="\n\n")


if __name__ == "__main__":
    main()
