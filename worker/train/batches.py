"""Records to token tensors: one encoding used by training, evaluation and attribution alike.

Over-long records are truncated to `max_length` tokens and counted, so metrics.json can say how many
were cut (or `strict_length` can refuse them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch

from worker.errors import TrainingError
from worker.train.records import Record

IGNORE = -100  # label value that cross-entropy skips (prompt and padding tokens)


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    target: int | list[int]  # class index, or per-token labels for generation


@dataclass(frozen=True)
class Encoded:
    examples: list[Example]
    truncated: list[int]  # positions (in the given records) of records cut to max_length


def _encode_classification(
    record: Record, tokenizer: Any, labels: Sequence[str], max_length: int
) -> tuple[Example, bool]:
    ids = tokenizer(record["text"], add_special_tokens=True, truncation=False)["input_ids"]
    label = str(record["label"])
    if label not in labels:
        raise TrainingError(f"label {label!r} is not one of the model's labels {list(labels)}")
    cut = len(ids) > max_length
    if cut:
        ids = ids[: max_length - 1] + ids[-1:]  # keep the closing special token ([SEP])
    return Example(ids, labels.index(label)), cut


def _encode_generation(record: Record, tokenizer: Any, max_length: int) -> tuple[Example, bool]:
    if "prompt" in record:
        prompt, completion = record["prompt"], record["completion"]
    else:
        prompt, completion = "", record["text"]
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    prompt_ids = bos + tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        completion_ids = completion_ids + [tokenizer.eos_token_id]
    ids = prompt_ids + completion_ids
    target = [IGNORE] * len(prompt_ids) + completion_ids
    cut = len(ids) > max_length
    return Example(ids[:max_length], target[:max_length]), cut


def encode_records(
    records: Sequence[Record], tokenizer: Any, task: str, labels: Sequence[str], max_length: int
) -> Encoded:
    examples: list[Example] = []
    truncated: list[int] = []
    for i, record in enumerate(records):
        if task == "classification":
            example, cut = _encode_classification(record, tokenizer, labels, max_length)
        else:
            example, cut = _encode_generation(record, tokenizer, max_length)
        examples.append(example)
        if cut:
            truncated.append(i)
    return Encoded(examples, truncated)


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example; padding is masked out and never a label."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        ids[row, : len(example.input_ids)] = torch.tensor(example.input_ids)
        mask[row, : len(example.input_ids)] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if isinstance(examples[0].target, int):
        batch["labels"] = torch.tensor([e.target for e in examples], dtype=torch.long)
    else:
        labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
        for row, example in enumerate(examples):
            target = cast(list[int], example.target)  # one batch holds one task: per-token labels here
            labels[row, : len(target)] = torch.tensor(target)
        batch["labels"] = labels
    return batch
