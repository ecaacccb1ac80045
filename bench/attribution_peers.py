"""Peer methods on the same model and data: kronfluence EK-FAC and identity (needs the `bench` extra).

Scores are converted to our convention (the change in the query's margin from including the record):
kronfluence returns grad f^T H^-1 grad L_i, and including record i moves f by minus that.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from worker.train import load_trained
from worker.train.batches import collate, encode_records


def _dataset(loaded, records: list[dict]) -> list[dict[str, torch.Tensor]]:
    spec = loaded.spec
    examples = encode_records(
        records, loaded.tokenizer, "classification", spec.labels, spec.max_length
    ).examples
    batch = collate(examples, loaded.tokenizer.pad_token_id)
    return [{k: v[i] for k, v in batch.items()} for i in range(len(examples))]


def kronfluence_scores(model_dir: Path, train: list[dict], queries: list[dict]) -> dict[str, dict]:
    from kronfluence.analyzer import Analyzer, prepare_model
    from kronfluence.arguments import FactorArguments
    from kronfluence.task import Task

    class MarginTask(Task):
        def compute_train_loss(self, batch, model, sample=False):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            if sample:
                with torch.no_grad():
                    labels = torch.multinomial(torch.softmax(logits.detach(), -1), 1).flatten()
            else:
                labels = batch["labels"]
            return F.cross_entropy(logits, labels, reduction="sum")

        def compute_measurement(self, batch, model):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            correct = logits.gather(1, batch["labels"][:, None]).squeeze(1)
            others = logits.scatter(1, batch["labels"][:, None], float("-inf"))
            return (correct - torch.logsumexp(others, 1)).sum()

        def get_influence_tracked_modules(self):
            return tracked

        def get_attention_mask(self, batch):
            return batch["attention_mask"]

    loaded = load_trained(model_dir)
    model = loaded.model.eval()
    tracked = [
        n
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear)
        and (
            n.endswith("lora_A.default")
            or n.endswith("lora_B.default")
            or n.endswith("modules_to_save.default")
        )
    ]
    task = MarginTask()
    model = prepare_model(model, task)
    train_set, query_set = _dataset(loaded, train), _dataset(loaded, queries)
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        analyzer = Analyzer("bench", model, task, cpu=True, disable_tqdm=True, output_dir=folder)
        for strategy in ("ekfac", "identity"):
            started = time.perf_counter()
            args = FactorArguments(strategy=strategy)
            analyzer.fit_all_factors(strategy, train_set, per_device_batch_size=16, factor_args=args)
            analyzer.compute_pairwise_scores(
                strategy,
                strategy,
                query_set,
                train_set,
                per_device_query_batch_size=len(query_set),
                per_device_train_batch_size=16,
            )
            raw = analyzer.load_pairwise_scores(strategy)["all_modules"]
            out[strategy] = {
                "scores": -np.asarray(raw, dtype=np.float64),
                "seconds": time.perf_counter() - started,
            }
    return out
