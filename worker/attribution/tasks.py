"""What is measured, per model kind: the training loss of one example and the measurement of one query.

Following kronfluence's separation, a Task knows nothing of gradients or indexes: it maps the logits of
a single example (no batch dimension) and its target to a scalar. Scores are then "how much including
a training record changes the measurement", so positive means the record helped the output.
- Classification: loss = cross-entropy; measurement = margin, the logit of the correct class minus the
  logsumexp of the other logits (the log-odds of being right, TRAK's choice).
- Language model: loss = mean token negative log-likelihood of the completion tokens (as in training);
  measurement = total log-likelihood of the completion tokens.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

from worker.train.batches import IGNORE


class AttributionTask(Protocol):
    name: str

    def training_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    def measurement(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    def additive_mask(self, attention_mask: torch.Tensor) -> torch.Tensor: ...


def _padding_bias(attention_mask: torch.Tensor) -> torch.Tensor:
    """(L,) 0/1 mask -> (L,) additive bias: 0 where attended, a very negative number on padding."""
    return (1.0 - attention_mask.float()) * torch.finfo(torch.float32).min


class ClassificationTask:
    name = "classification"

    def training_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits[None], target[None])

    def measurement(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # gather and arange comparisons (not indexing or one_hot) so that torch.func.vmap can batch it
        correct = logits.gather(-1, target.reshape(1)).squeeze(-1)
        is_target = torch.arange(logits.shape[-1], device=logits.device) == target
        others = logits.masked_fill(is_target, float("-inf"))
        return correct - torch.logsumexp(others, dim=-1)

    def additive_mask(self, attention_mask: torch.Tensor) -> torch.Tensor:
        """Bidirectional encoder: every query position sees every non-padding key; shape (1, L, L)."""
        length = attention_mask.shape[-1]
        return _padding_bias(attention_mask)[None, None, :].expand(1, length, length)


class LanguageModelTask:
    name = "generation"

    @staticmethod
    def _token_logprobs(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Position t predicts token t+1, as in the causal-LM loss used for training.
        shifted, labels = logits[:-1], target[1:]
        valid = labels != IGNORE
        logprobs = torch.log_softmax(shifted, dim=-1)
        picked = logprobs.gather(-1, labels.clamp(min=0)[:, None]).squeeze(-1)
        return picked * valid, valid

    def training_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        picked, valid = self._token_logprobs(logits, target)
        return -picked.sum() / valid.sum().clamp(min=1)

    def measurement(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        picked, _ = self._token_logprobs(logits, target)
        return picked.sum()

    def additive_mask(self, attention_mask: torch.Tensor) -> torch.Tensor:
        """Causal + padding, shape (1, L, L)."""
        length = attention_mask.shape[-1]
        causal = torch.ones(length, length, dtype=torch.bool, device=attention_mask.device).tril()
        allowed = causal & attention_mask.bool()[None, :]
        return torch.zeros(length, length, device=attention_mask.device).masked_fill(
            ~allowed, torch.finfo(torch.float32).min
        )[None]


def task_for(kind: str) -> AttributionTask:
    return ClassificationTask() if kind == "classification" else LanguageModelTask()
