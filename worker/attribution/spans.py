"""Exact-span evidence for generated text: the longest word sequences it shares with training records.

A hashed n-gram index (n = min_words) finds candidate positions in O(1); each hit is extended word by
word to its maximal length. Every output position gets its longest match; a match is reported unless
it ends inside one already reported from an earlier position (then it is a piece of that span), so
overlapping copies from different records are all found.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from worker.attribution.arguments import SpanArguments

_WORD = re.compile(r"\w+|[^\w\s]")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Span:
    record: int  # position of the training record
    output_start: int  # word offsets in the output
    record_start: int  # word offset in the record
    length: int  # in words
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SpanIndex:
    def __init__(self, texts: Sequence[str], args: SpanArguments | None = None):
        self.args = args or SpanArguments()
        self.docs = [words(t) for t in texts]
        n = self.args.min_words
        self.grams: dict[tuple[str, ...], list[tuple[int, int]]] = defaultdict(list)
        for d, doc in enumerate(self.docs):
            for i in range(len(doc) - n + 1):
                self.grams[tuple(doc[i : i + n])].append((d, i))

    def _longest_at(self, out: list[str], start: int) -> tuple[int, int, int]:
        n = self.args.min_words
        best = (0, -1, -1)  # (length, record, record_start)
        for d, j in self.grams.get(tuple(out[start : start + n]), ()):
            doc, length = self.docs[d], n
            while (
                start + length < len(out) and j + length < len(doc) and out[start + length] == doc[j + length]
            ):
                length += 1
            if length > best[0]:
                best = (length, d, j)
        return best

    def find(self, output: str) -> list[Span]:
        out = words(output)
        spans: list[Span] = []
        reach = 0  # end (exclusive) of the furthest-reaching span reported so far
        for i in range(len(out) - self.args.min_words + 1):
            length, record, record_start = self._longest_at(out, i)
            if length and i + length > reach:
                spans.append(Span(record, i, record_start, length, " ".join(out[i : i + length])))
                reach = i + length
        spans.sort(key=lambda s: (-s.length, s.output_start))
        return spans[: self.args.max_spans]
