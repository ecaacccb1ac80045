"""LDS ground truth: retrain on half-size subsets, record every query's margin, cache on disk.

Run it in the background early (`python bench/attribution_truth.py`); it resumes where it stopped and
`bench/attribution.py` re-scores any method against whatever is cached. Each subset is trained twice
(two seeds): the mean is the target, and the agreement between the two replicates is the split-half
ceiling on any method's LDS.

Subsets are label-stratified by default (`--protocol stratified`): each takes half of every label's
records, so every subset keeps the training set's label proportions and label balance cannot drive the
retrained margins (for a task without labels it is a plain random half). `--protocol random` draws plain
random halves, the protocol before, to show the confound. The protocol is part of the cache folder's
name, so ground truths of different protocols are never mixed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.attribution_data import QUICK, TASKS, TWEETS, BenchTask, data_key  # noqa: E402
from worker.attribution.tasks import task_for  # noqa: E402
from worker.train import reusing_bases, train_in_memory  # noqa: E402
from worker.train.batches import collate, encode_records  # noqa: E402

N_SUBSETS, REPLICATES = (8, 2) if QUICK else (40, 2)
# Subset protocols and their versioned names, which key the cache (bump a name when its draw changes).
PROTOCOLS = {"stratified": "stratified-half-v1", "random": "random-half-v1"}


def truth_dir(train, queries, protocol: str = "stratified", task: BenchTask = TWEETS) -> Path:
    return task.cache / f"truth-{data_key(train, queries, task)}-{PROTOCOLS[protocol]}"


def subset_labels(train: Sequence[dict], protocol: str) -> list[str] | None:
    """The labels to stratify by: None for the random protocol or a task without labels (generation)."""
    if protocol == "random" or not all("label" in r for r in train):
        return None
    return [str(r["label"]) for r in train]


def subset_masks(n_train: int, n_subsets: int = N_SUBSETS, strata: Sequence[str] | None = None) -> np.ndarray:
    """Half-size subsets, each drawn from its own seeded generator (stable if n_subsets grows). With
    `strata` (one label per record) each subset takes half (rounded down) of every label's records, in
    sorted label order; without, a plain random half."""
    masks = np.zeros((n_subsets, n_train), dtype=bool)
    groups = (
        [np.arange(n_train)]
        if strata is None
        else [np.flatnonzero(np.asarray(strata, dtype=object) == c) for c in sorted(set(strata))]
    )
    for j in range(n_subsets):
        rng = np.random.default_rng(10_000 + j)
        for members in groups:
            masks[j, rng.choice(members, size=len(members) // 2, replace=False)] = True
    return masks


@torch.no_grad()
def query_measurements(loaded, queries, batch_size: int = 16) -> torch.Tensor:
    """What attribution explains, per query: the margin for a classifier, the total log-likelihood of
    the completion tokens for a language model (worker/attribution/tasks.py)."""
    if loaded.spec.task == "classification":
        return query_margins(loaded, queries)
    task = task_for(loaded.spec.task)
    spec = loaded.spec
    out = []
    for start in range(0, len(queries), batch_size):
        part = queries[start : start + batch_size]
        enc = encode_records(part, loaded.tokenizer, spec.task, spec.labels, spec.max_length)
        batch = collate(enc.examples, loaded.tokenizer.pad_token_id)
        targets = batch.pop("labels")
        logits = loaded.model(**batch).logits.float()
        out.extend(task.measurement(row, target) for row, target in zip(logits, targets, strict=True))
    return torch.stack(out)


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


def run(
    n_subsets: int,
    replicates: int,
    split: str = "eval",
    protocol: str = "stratified",
    task: BenchTask = TWEETS,
) -> None:
    train, queries = task.split(split)
    folder = truth_dir(train, queries, protocol, task)
    folder.mkdir(parents=True, exist_ok=True)
    masks = subset_masks(len(train), n_subsets, subset_labels(train, protocol))
    np.save(folder / "masks.npy", masks)
    about = {"protocol": PROTOCOLS[protocol], "split": split, "task": task.name, "source": task.source}
    (folder / "protocol.json").write_text(json.dumps(about))
    with reusing_bases():  # one base loaded for every retrain (a GGUF base takes ~45 s to load)
        _retrain_subsets(task, train, queries, masks, folder, n_subsets, replicates)


def _retrain_subsets(task: BenchTask, train, queries, masks, folder: Path, n_subsets: int, replicates: int):
    for rep in range(replicates):
        for j in range(n_subsets):
            path = folder / f"margins-s{j:03d}-r{rep}.npy"
            if path.exists():
                continue
            started = time.perf_counter()
            subset = [train[i] for i in np.flatnonzero(masks[j])]
            loaded, _, _ = train_in_memory(task.spec(seed=1000 * (rep + 1) + j), subset)
            margins = query_measurements(loaded, queries).numpy()
            np.save(path.with_suffix(".tmp.npy"), margins)
            path.with_suffix(".tmp.npy").rename(path)
            print(
                json.dumps(
                    {
                        "task": task.name,
                        "subset": j,
                        "replicate": rep,
                        "seconds": round(time.perf_counter() - started, 1),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subsets", type=int, default=N_SUBSETS)
    parser.add_argument("--replicates", type=int, default=REPLICATES)
    parser.add_argument("--split", choices=("eval", "dev"), default="eval")
    parser.add_argument("--protocol", choices=tuple(PROTOCOLS), default="stratified")
    parser.add_argument("--task", choices=tuple(TASKS), default=TWEETS.name)
    args = parser.parse_args()
    run(args.subsets, args.replicates, args.split, args.protocol, TASKS[args.task])
