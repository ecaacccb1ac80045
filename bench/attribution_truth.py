"""LDS ground truth: retrain on random half-size subsets, record every query's margin, cache on disk.

Run it in the background early (`python bench/attribution_truth.py`); it resumes where it stopped and
`bench/attribution.py` re-scores any method against whatever is cached. Each subset is trained twice
(two seeds): the mean is the target, and the agreement between the two replicates is the split-half
ceiling on any method's LDS.
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

from bench.attribution_data import CACHE, bench_spec, bench_split, data_key  # noqa: E402
from worker.train import train_in_memory  # noqa: E402
from worker.train.batches import collate, encode_records  # noqa: E402

N_SUBSETS, REPLICATES = 40, 2


def truth_dir(train, queries) -> Path:
    return CACHE / f"truth-{data_key(train, queries)}"


def subset_masks(n_train: int, n_subsets: int = N_SUBSETS) -> np.ndarray:
    """Half-size subsets, each drawn from its own seeded generator (stable if n_subsets grows)."""
    masks = np.zeros((n_subsets, n_train), dtype=bool)
    for j in range(n_subsets):
        chosen = np.random.default_rng(10_000 + j).choice(n_train, size=n_train // 2, replace=False)
        masks[j, chosen] = True
    return masks


@torch.no_grad()
def query_margins(loaded, queries) -> torch.Tensor:
    """Margin of the true class: its logit minus logsumexp of the other logits."""
    spec = loaded.spec
    enc = encode_records(queries, loaded.tokenizer, "classification", spec.labels, spec.max_length)
    batch = collate(enc.examples, loaded.tokenizer.pad_token_id)
    labels = batch.pop("labels")
    logits = loaded.model(**batch).logits
    correct = logits.gather(1, labels[:, None]).squeeze(1)
    others = logits.scatter(1, labels[:, None], float("-inf"))
    return correct - torch.logsumexp(others, dim=1)


def run(n_subsets: int, replicates: int, split: str = "eval") -> None:
    train, queries = bench_split(split)
    folder = truth_dir(train, queries)
    folder.mkdir(parents=True, exist_ok=True)
    masks = subset_masks(len(train), n_subsets)
    np.save(folder / "masks.npy", masks)
    for rep in range(replicates):
        for j in range(n_subsets):
            path = folder / f"margins-s{j:03d}-r{rep}.npy"
            if path.exists():
                continue
            started = time.perf_counter()
            subset = [train[i] for i in np.flatnonzero(masks[j])]
            loaded, _, _ = train_in_memory(bench_spec(seed=1000 * (rep + 1) + j), subset)
            margins = query_margins(loaded, queries).numpy()
            np.save(path.with_suffix(".tmp.npy"), margins)
            path.with_suffix(".tmp.npy").rename(path)
            print(
                json.dumps(
                    {"subset": j, "replicate": rep, "seconds": round(time.perf_counter() - started, 1)}
                ),
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subsets", type=int, default=N_SUBSETS)
    parser.add_argument("--replicates", type=int, default=REPLICATES)
    parser.add_argument("--split", choices=("eval", "dev"), default="eval")
    args = parser.parse_args()
    run(args.subsets, args.replicates, args.split)
