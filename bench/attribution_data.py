"""Benchmark data: balanced binary tweet sentiment (worker.data.sentiment_corpus) and the shared task spec."""

from __future__ import annotations

import hashlib
from pathlib import Path

from worker.data.sentiment_corpus import sentiment_records
from worker.train import TrainingSpec, canonical_json

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache" / "attribution"
N_TRAIN, N_QUERY, MAX_LENGTH = 800, 80, 48


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
