"""A live model ready to answer: the trained adapter, its attribution index, who owns each training
record, and (for language models) the training texts for exact-span evidence.

Answers are greedy and deterministic. Per-answer attribution is the engine's single-query path
(`Analyzer.measure_query`): one backward pass of the answer's measurement (at every checkpoint, stacked
into one pass, by default; at the final adapter with `AnswerSettings.query_checkpoints="final"`), one
product with the saved index (`AttributionIndex.scores`), then weights and top-k evidence (explain.py).
A classifier's answer is read from that same forward pass. Checkpoint weights may be swapped in during
the pass, and the base model may be shared with other adapters (adapters.py), so one answer is computed
at a time per base (`lock`), this model's tensors swapped in first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from worker.attribution import Analyzer, AttributionArguments, AttributionIndex, ScoreArguments
from worker.errors import AttributionError
from worker.serve.adapters import Adapter
from worker.serve.chat import chat_prompt
from worker.serve.decoding import TextDeltas
from worker.serve.explain import Attribution, RecordOwners, attribute_answer
from worker.serve.span_evidence import SpanSource


@dataclass(frozen=True)
class AnswerSettings:
    attribution: bool = True  # False: model-level weights only (the bare forward pass, for benchmarks)
    top_k: int = 10
    max_contributors: int = 16
    # Where each answer's gradient is taken: None keeps the engine's default (every checkpoint, the more
    # accurate; ScoreArguments.query_checkpoints); "final" about halves the attribution's cost per answer.
    query_checkpoints: str | None = None

    def __post_init__(self) -> None:
        if self.query_checkpoints is not None:  # refused here, at start, not as a 503 per model later
            AttributionArguments(score=ScoreArguments(query_checkpoints=self.query_checkpoints))


@dataclass(frozen=True)
class Answer:
    output: dict[str, Any]
    attribution: Attribution


class ServedModel:
    def __init__(
        self,
        model_id: int,
        adapter_cid: str,
        analyzer: Analyzer,
        index: AttributionIndex,
        owners: RecordOwners,
        fallback: dict[str, float],
        spans: SpanSource | None = None,
        settings: AnswerSettings | None = None,
        adapter: Adapter | None = None,
    ):
        self.model_id, self.adapter_cid = model_id, adapter_cid
        self.analyzer, self.index, self.owners = analyzer, index, owners
        self.fallback, self.spans = fallback, spans
        self.settings = settings or AnswerSettings()
        # on a base shared with other adapters (serve/adapters.py): that base's lock, and its tensors
        # swapped in before each answer
        self.adapter = adapter
        self.lock = adapter.lock if adapter is not None else threading.RLock()

    @property
    def task(self) -> str:
        return self.analyzer.spec.task

    @property
    def labels(self) -> tuple[str, ...]:
        return self.analyzer.spec.labels

    def _scores(self, query: dict[str, str]) -> torch.Tensor | None:
        try:
            features = self.analyzer.measure_query(query).features
        except AttributionError:
            return None  # nothing to measure (e.g. an empty completion): model-level weights instead
        return self.index.scores(features)[0]

    def _attribution(
        self, scores: torch.Tensor | None, spans: list[dict[str, Any]] | None = None
    ) -> Attribution:
        s = self.settings
        return attribute_answer(self.owners, scores, self.fallback, s.top_k, s.max_contributors, spans)

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """Hold the model (its base, when shared) with this adapter's weights in place."""
        with self.lock:
            if self.adapter is not None:
                self.adapter.activate()
            yield

    def classify(self, text: str) -> Answer:
        with self._answering():
            return self._classify(text)

    def _classify(self, text: str) -> Answer:
        """The label, its probabilities and their attribution. With attribution on, the answer comes from
        the forward pass whose measurement is differentiated (`Analyzer.measure_query`): attributing
        costs one backward pass on top of the bare answer, not a second forward."""
        if self.settings.attribution:
            measured = self.analyzer.measure_query({"text": text})
            logits, scores = measured.logits, self.index.scores(measured.features)[0]
        else:
            logits, scores = self.analyzer.logits(text), None
        assert logits is not None  # measure_query always returns a classifier's logits
        probabilities = torch.softmax(logits.double(), dim=-1).tolist()
        labels = self.analyzer.spec.labels
        output = {
            "label": labels[int(logits.argmax())],
            "probabilities": {name: round(p, 6) for name, p in zip(labels, probabilities, strict=True)},
        }
        return Answer(output, self._attribution(scores))

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        """The prompt a chat is answered as the completion of (the base model's template: serve/chat.py)."""
        return chat_prompt(self.analyzer.loaded.tokenizer, messages)

    def complete(
        self, prompt: str, max_tokens: int, on_text: Callable[[str], None] | None = None
    ) -> Answer:
        with self._answering():
            return self._complete(prompt, max_tokens, on_text)

    def _complete(
        self, prompt: str, max_tokens: int, on_text: Callable[[str], None] | None = None
    ) -> Answer:
        """The greedy completion of `prompt`; `on_text` (a streamed answer) gets its text as it is
        generated, pieces that concatenate to exactly the answer's text."""
        analyzer = self.analyzer
        tokenizer, spec = analyzer.loaded.tokenizer, analyzer.spec
        # the prompt is encoded exactly as in training: BOS + prompt tokens, the completion follows
        bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        ids = bos + tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = ids[-max(1, spec.max_length - max_tokens) :]
        input_ids = torch.tensor([ids], device=analyzer.device)
        streamer = TextDeltas(tokenizer, on_text) if on_text is not None else None
        with torch.no_grad():
            generated = analyzer.model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                streamer=streamer,
            )[0, len(ids) :].tolist()
        stopped = tokenizer.eos_token_id is not None and tokenizer.eos_token_id in generated
        if stopped:
            generated = generated[: generated.index(tokenizer.eos_token_id)]
        text = tokenizer.decode(generated, skip_special_tokens=True)
        if streamer is not None:
            streamer.finish(text)
        output = {"text": text, "finish_reason": "stop" if stopped else "length"}
        attributed = self.settings.attribution and text.strip()
        scores = self._scores({"prompt": prompt, "completion": text}) if attributed else None
        spans = self.spans.find(text) if self.spans is not None else []
        return Answer(output, self._attribution(scores, spans))
