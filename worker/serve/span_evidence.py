"""Exact-span evidence of a served language model: its span index (memory-mapped from the adapter
bundle, or built in memory for adapters trained before span indexes existed) and who owns each record.

`SpanSource.find(output)` gives the receipt's span evidence rows (text, words, how many training records
hold the span, the first holder's record hash, contribution and contributor) as a `SpanMatches` list,
which also carries the spans themselves so that explain.attribute_answer can weigh them
(worker.attribution.span_weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.attribution.report import RecordProvenance
from worker.attribution.spans import Span, SpanIndex


class SpanMatches(list[dict[str, Any]]):
    """The evidence rows of an answer's spans, with the spans they describe (positions of every holder)."""

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
        spans = self.index.find(output)
        rows = []
        for span in spans:
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
        return SpanMatches(rows, spans, self.index.args.min_words)
