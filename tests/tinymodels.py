"""Tiny random models (BERT / Llama, hidden 32, 2 layers) and toy datasets, shared by the train and
attribution tests.

Test folders are not packages, so this module is imported by plain name: pytest puts tests/ on sys.path
when it loads tests/conftest.py. A folder's conftest re-exports the fixtures it wants (pytest finds
fixtures by the names in a conftest's namespace); session-scoped ones are then built once per folder.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from worker.train.catalogue import resolve_base_model

POSITIVE = "good great happy love wonderful nice fine superb".split()
NEGATIVE = "bad awful sad hate terrible poor ugly grim".split()


def _save_tiny(model_cls, config, folder: Path) -> Path:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_base_model("minilm").directory))
    torch.manual_seed(0)
    model_cls(config(tokenizer.vocab_size)).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    from transformers import BertConfig, BertForSequenceClassification

    def config(vocab: int) -> BertConfig:
        return BertConfig(
            vocab_size=vocab,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
        )

    return _save_tiny(BertForSequenceClassification, config, tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    def config(vocab: int) -> LlamaConfig:
        return LlamaConfig(
            vocab_size=vocab,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
            pad_token_id=0,
        )

    return _save_tiny(LlamaForCausalLM, config, tmp_path_factory.mktemp("tiny-llama"))


def sentiment_records(n: int = 40, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = POSITIVE if i % 2 else NEGATIVE
        text = " ".join(rng.choice(words) for _ in range(5)) + f" item {i}"
        records.append({"text": text, "label": label, "contributor": f"c{i % 4}"})
    return records


def generation_records(n: int = 12) -> list[dict]:
    return [
        {
            "prompt": f"question {i}:",
            "completion": f"the answer is {' '.join(POSITIVE[: 2 + i % 5])}",
            "contributor": f"c{i % 3}",
        }
        for i in range(n)
    ]


@pytest.fixture
def records() -> list[dict]:
    return sentiment_records()


@pytest.fixture
def generation_data() -> list[dict]:
    return generation_records()
