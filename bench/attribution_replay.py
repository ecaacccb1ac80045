"""Exact model-level attribution by replay (worker/attribution/replay.py) against the approximate
default, both scored on the ground truth a deterministic run defines: fixed-seed leave-subset-out
retrains (same seed, same batch layout and dropout draws, the removed records' losses weighted 0).

Task: the attribution benchmark's tweet sentiment on minilm (bench/attribution_data.py), the model-level
target being the mean margin of the held-out queries, as a job's root uses its validation split. For
each drop fraction, random subsets are removed and retrained; LDS is Spearman, across subsets, between
the predicted change (minus the removed records' scores summed) and the retrained change. Also printed:
wall time of training, of the replay (as a multiple of training) and of the approximate method's index
and model-level scores; all in the same process, one after the other.

The run is trained with the spec's default AdamW epsilon (worker/train/spec.py, ADAM_EPSILON);
`--adam-epsilon 1e-8` measures the same on torch's default, what specs trained with before, whose
sign-like first steps the first-order prediction follows less well. Results go to
.bench-cache/replay-<records>[-eps<epsilon>].json; the retrains (most of the time) are cached beside it
(-retrains.json) under a key of the spec, records and subsets, and rerun when any of those change.

    python bench/attribution_replay.py     # ~15 min on 2 idle cores, ~2 with the retrains cached
    python bench/attribution_replay.py --adam-epsilon 1e-8
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.attribution_data import CACHE, QUICK, bench_spec, bench_split  # noqa: E402
from bench.attribution_metrics import spearman  # noqa: E402
from worker.attribution import Analyzer, model_level_scores  # noqa: E402
from worker.attribution.replay import replay_scores, retrain_with_weights  # noqa: E402
from worker.canonical import canonical_json  # noqa: E402
from worker.train import train  # noqa: E402
from worker.train.spec import ADAM_EPSILON  # noqa: E402

N_TRAIN, N_TARGETS = (96, 16) if QUICK else (256, 64)
DROP_FRACTIONS = (0.05, 0.1) if QUICK else (0.01, 0.05, 0.1)
SUBSETS = 6 if QUICK else 20
THREADS = 2


def inputs() -> tuple[list[dict], list[dict]]:
    train_records, queries = bench_split("eval")
    return train_records[:N_TRAIN], queries[:N_TARGETS]


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def removal_masks(n: int) -> dict[float, np.ndarray]:
    """The removed subsets, drawn once from seed 0: SUBSETS rows per fraction, 0 marks a removed record."""
    rng, masks = np.random.default_rng(0), {}
    for fraction in DROP_FRACTIONS:
        rows = np.ones((SUBSETS, n), dtype=np.float32)
        for row in rows:
            row[rng.choice(n, size=max(1, round(fraction * n)), replace=False)] = 0.0
        masks[fraction] = rows
    return masks


def ground_truth(spec, records, targets, masks, path: Path) -> dict:  # type: ignore[no-untyped-def]
    """Each subset's retrained change of the measurement, and the timings, cached in `path` under a key
    of what decides them (the spec, the records, the subsets): the retrains are most of the bench's time."""
    key = hashlib.sha256(
        spec.sha256().encode()
        + canonical_json([records, targets])
        + b"".join(m.tobytes() for m in masks.values())
    ).hexdigest()
    if path.exists() and (cached := json.loads(path.read_text())).get("key") == key:
        return cached
    base = retrain_with_weights(spec, records, targets, torch.ones(len(records)))
    changes, seconds = {}, []
    for fraction, rows in masks.items():
        changes[str(fraction)] = []
        for row in rows:
            value, took = timed(
                lambda row=row: retrain_with_weights(spec, records, targets, torch.from_numpy(row))
            )
            changes[str(fraction)].append(value - base)
            seconds.append(took)
        print(json.dumps({"retrained drop": fraction}), flush=True)
    truth = {"key": key, "base": base, "retrain_seconds": float(np.mean(seconds)), "changes": changes}
    path.write_text(json.dumps(truth, indent=2))
    return truth


def main(adam_epsilon: float) -> None:
    records, targets = inputs()
    spec = replace(bench_spec(seed=0, cpu_threads=THREADS), adam_epsilon=adam_epsilon)
    run_name = f"replay-{N_TRAIN}" + ("" if adam_epsilon == ADAM_EPSILON else f"-eps{adam_epsilon:g}")
    model_dir = CACHE / run_name
    _, train_seconds = timed(lambda: train(spec, records, model_dir, overwrite=True))
    replay, replay_seconds = timed(lambda: replay_scores(model_dir, records, targets))
    methods = {"replay (exact)": replay.scores.numpy()}
    analyzer = Analyzer(model_dir)
    index, index_seconds = timed(lambda: analyzer.build_index(records))
    approx, level_seconds = timed(lambda: model_level_scores(analyzer, index, targets))
    methods["gradients (approximate default)"] = approx.numpy()
    masks = removal_masks(len(records))
    truth_path = CACHE / f"{run_name}-retrains.json"
    truth = ground_truth(spec, records, targets, masks, truth_path)
    rows: dict[str, dict[str, float]] = {
        name: {
            f"drop {fraction:.0%}": round(
                spearman((kept - 1) @ scores, np.array(truth["changes"][str(fraction)])), 3
            )
            for fraction, kept in masks.items()
        }
        for name, scores in methods.items()
    }
    # Timed in this run (the cached retrains may come from another), and a check that they still hold.
    base, warm_seconds = timed(lambda: retrain_with_weights(spec, records, targets, torch.ones(len(records))))
    if base != truth["base"]:
        raise SystemExit(
            f"the unweighted retrain gives {base}, the cached ground truth {truth['base']}: another machine "
            f"or library versions; delete {truth_path} to retrain it here"
        )
    table = {
        "task": f"tweet sentiment, minilm LoRA r8, {N_TRAIN} records, {replay.steps} AdamW steps",
        "adam epsilon": adam_epsilon,
        "ground truth": f"fixed-seed leave-subset-out retrains, {SUBSETS} subsets per drop fraction",
        "replay reproduced the adapter": "bit for bit"
        if replay.max_abs_diff == 0
        else f"to {replay.max_abs_diff:.2g}",
        "LDS": rows,
        "seconds": {
            "training (`train`, first in the process)": round(train_seconds, 1),
            "training again (weights 1, warm)": round(warm_seconds, 1),
            "fixed-seed retrain (mean)": round(truth["retrain_seconds"], 1),
            "replay": round(replay_seconds, 1),
            "replay / training": round(replay_seconds / train_seconds, 2),
            "replay / warm training": round(replay_seconds / warm_seconds, 2),
            "approximate: index": round(index_seconds, 1),
            "approximate: model-level scores": round(level_seconds, 1),
            "approximate / training": round((index_seconds + level_seconds) / train_seconds, 2),
        },
    }
    print(json.dumps(table, indent=2))
    (CACHE / f"{run_name}.json").write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--adam-epsilon", type=float, default=ADAM_EPSILON, help=f"the run's AdamW epsilon [{ADAM_EPSILON:g}]"
    )
    torch.set_num_threads(THREADS)
    main(parser.parse_args().adam_epsilon)
