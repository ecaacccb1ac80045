"""Trained tiny adapters for the attribution tests; the tiny models and toy datasets come from
tests/tinymodels.py (shared with the training tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinymodels import generation_records, sentiment_records


@pytest.fixture(scope="session")
def trained_bert(tiny_bert, tmp_path_factory) -> Path:
    """A tiny BERT classifier trained for 2 epochs (2 checkpoints), shared read-only by the tests."""
    from worker.train import TrainingSpec, train

    out = tmp_path_factory.mktemp("trained") / "model"
    spec = TrainingSpec(
        base_model=str(tiny_bert), epochs=2, batch_size=8, lr=1e-2, max_length=16, validation_fraction=0.2
    )
    train(spec, sentiment_records(), out)
    return out


@pytest.fixture(scope="session")
def trained_llama(tiny_llama, tmp_path_factory) -> Path:
    from worker.train import TrainingSpec, train

    out = tmp_path_factory.mktemp("trained-lm") / "model"
    spec = TrainingSpec(
        base_model=str(tiny_llama),
        task="generation",
        epochs=1,
        batch_size=4,
        lr=1e-2,
        max_length=24,
        validation_fraction=0.2,
    )
    train(spec, generation_records(), out)
    return out
