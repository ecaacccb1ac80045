"""Exact-span evidence of a served language model: its span index (memory-mapped from the adapter
bundle, or built in memory for adapters trained before span indexes existed) and who owns each record.

`SpanSource.find(output)` gives the receipt's span evidence rows (text, words, how many training records
hold the span, the first holder's record hash, contribution and contributor) as a `SpanMatches` list:
rows for the spans shown (at most `max_spans`, chosen by worker.attribution.spans.shown so that
overlapping spans cannot crowd the others out), and every maximal span of the output in `spans`, which
explain.attribute_answer weighs (worker.attribution.span_weights) whatever the display limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.attribution.report import RecordProvenance
from worker.attribution.spans import Span, SpanIndex, shown_spans


class SpanMatches(list[dict[str, Any]]):
    """The evidence rows of an answer's shown spans, with every maximal span of the answer (positions of
    every holder), which the weights are computed from."""

    def __init__(self, rows: Sequence[dict[str, Any]], spans: Sequence[Span], min_words: int):
        super().__init__(rows)
        self.spans = list(spans)
        self.min_words = min_words


class SpanSource:
    """Exact-span evidence against the model's training records (index order), with their owners."""

    def __init__(self, index: SpanIndex | Sequence[str], owners: Sequence[RecordProvenance]):
        self.index = index if isinstance(index, SpanIndex) else SpanIndex(list(index))
        if self.index.size != len(owners):
            raise ValueError(
                f"the span index holds {self.index.size} records but the model has {len(owners)} "
                "training records"
            )
        self.owners = list(owners)

    def find(self, output: str) -> SpanMatches:
        spans = self.index.find_all(output)
        args = self.index.args
        rows = []
        for span in shown_spans(spans, args.min_words, args.max_spans):
            owner = self.owners[span.record]
            rows.append(
                {
                    "text": span.text,
                    "words": span.length,
                    "records": span.count,
                    "record": owner.hash,
                    "contribution": owner.contribution,
                    "contributor": owner.contributor,
                }
            )
        return SpanMatches(rows, spans, args.min_words)
