"""Exact-span evidence for generated text: the maximal word sequences an output shares with the training
records, found in a suffix array over the tokenised corpus, each with the records that hold it.

API (see docs/ATTRIBUTION.md#span-evidence, the file format in docs/FORMATS.md#span-index):
- `SpanIndex(texts, args=None, record_hashes=None)` builds an index in memory, one document per text
  (record position = list position). `record_hashes` (default: sha256 of each text) are fingerprinted.
- `index.save(directory)` writes `span_index.json` + `span_index.bin`, byte-identical on any machine;
  `SpanIndex.load(directory, record_hashes=None, args=None)` memory-maps them (nothing is read whole)
  and refuses (SpanIndexMismatch) an index built for other records than `record_hashes`.
- `SpanIndex.for_model(model_dir, texts, record_hashes, args)`: the saved index when it matches, else
  built and saved (what a training job's attribution does).
- `index.find_all(output) -> list[Span]`: every maximal span of at least `args.min_words` words the
  output shares with the corpus, longest first (then by output position): what span weights are computed
  from. `index.find(output)`: the ones shown as evidence, at most `args.max_spans`, chosen by `shown`
  (greedily by output positions not yet covered, so overlapping spans cannot crowd others out), in the
  same order; `shown_spans(find_all(output), ...)` gives the same list. A `Span`
  has the output word offset and length, the span's text as written in the output, `occurrences` (exact,
  in the whole corpus), `records` (the positions of every record holding it, ascending, when it occurs
  at most `count_limit` times; empty above: such a span is boilerplate by construction), `count`
  (records holding it; the occurrence count, an upper bound, when not enumerated), and `record` /
  `record_start` (the first record holding it and the word offset there).

Tokenisation ("words-v1"): words and single punctuation marks (`\\w+|[^\\w\\s]`), each lowercased; a
word's id is the rank of its 64-bit BLAKE2b hash among the sorted hashes of the corpus vocabulary, so ids
depend on the set of words only. Ids are little-endian uint16 (uint32 when the vocabulary needs it); each
record is followed by a sentinel (the dtype's maximum) that no output word equals, so a match never
crosses records. The suffix array (libdivsufsort via pydivsufsort) lists the suffixes starting at words.

Search: a span starting at output word i is the longest prefix of output[i:] found in the corpus. All
starts are searched at once: a vectorised binary search over the suffix array compares every start's
window with the suffix at its midpoint in one numpy gather per step, and the longest match is the longer
common prefix with the two neighbours of the insertion point. A match at i is maximal when it is not
inside the match at i-1 (ell[i-1] <= ell[i]). Two more vectorised searches give each kept span's
suffix-array range: its occurrences, and the records that hold it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from worker.attribution.arguments import SpanArguments
from worker.canonical import canonical_json
from worker.errors import AttributionError
from worker.files import atomic_save, atomic_write

SPAN_INDEX_CONFIG = "span_index.json"
SPAN_INDEX_DATA = "span_index.bin"
SPAN_FORMAT = 1  # bumped whenever the file layout or the tokenisation changes
TOKENIZER = "words-v1"
COUNT_LIMIT = 10_000  # spans occurring more often are not enumerated (and carry no weight)
_ALIGN = 64
_FIRST_WINDOW = 48  # words compared per step; longer matches are searched again with a full window
_WORD = re.compile(r"\w+|[^\w\s]")
_UNKNOWN = -2  # an output word that is not in the corpus vocabulary (never equals a corpus id)
_PAD = -1  # past the end of a search key

Int64s = NDArray[np.int64]


class SpanIndexMismatch(AttributionError):
    """The span index was built for other records than the ones it is asked to serve."""


def word_matches(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text))


def words(text: str) -> list[str]:
    """The tokens of `text` as the index sees them (lowercased words and punctuation marks)."""
    return [m.group().lower() for m in _WORD.finditer(text)]


def word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "big")


def records_fingerprint(record_hashes: Sequence[str]) -> str:
    """sha256 over the record hashes in index order: what a saved index is bound to."""
    return hashlib.sha256("\n".join(record_hashes).encode()).hexdigest()


@dataclass(frozen=True)
class Span:
    output_start: int  # word offset in the output
    length: int  # in words
    text: str  # as written in the output
    occurrences: int  # times the span occurs in the corpus
    records: tuple[int, ...]  # positions of the records holding it (empty: occurs > count_limit times)
    record: int  # the first record holding it
    record_start: int  # word offset of the span in `record`

    @property
    def count(self) -> int:
        """How many records hold the span (an upper bound, the occurrences, when not enumerated)."""
        return len(self.records) if self.records else self.occurrences

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "length": self.length,
            "output_start": self.output_start,
            "record": self.record,
            "record_start": self.record_start,
            "records": self.count,
            "occurrences": self.occurrences,
        }


@dataclass
class _Arrays:
    vocab: NDArray[np.uint64]  # sorted word hashes; a word's id is its rank
    starts: Int64s  # token offset of each record
    tokens: NDArray[np.unsignedinteger[Any]]  # ids, a sentinel after each record
    sa: NDArray[np.signedinteger[Any]]  # suffix array over the word positions

    def sections(self) -> dict[str, NDArray[Any]]:
        return {"vocab": self.vocab, "starts": self.starts, "tokens": self.tokens, "sa": self.sa}


def _token_dtype(vocabulary: int) -> np.dtype[Any]:
    return np.dtype("<u2") if vocabulary < 0xFFFF else np.dtype("<u4")


def build_arrays(
    ids: NDArray[np.integer[Any]], lengths: NDArray[np.integer[Any]], vocab: NDArray[np.uint64]
) -> _Arrays:
    """The index arrays from word ids (records concatenated, `lengths` words each) and the vocabulary."""
    from pydivsufsort import divsufsort  # type: ignore[import-untyped]

    lengths = np.asarray(lengths, dtype=np.int64)
    dtype = _token_dtype(len(vocab))
    sentinel = np.iinfo(dtype).max
    total, n_docs = int(lengths.sum()), len(lengths)
    if int(ids.size) != total:
        raise AttributionError(f"span index: {ids.size} word ids for records of {total} words")
    starts = np.zeros(n_docs, dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    tokens = np.full(total + n_docs, sentinel, dtype=dtype)
    is_word = np.ones(total + n_docs, dtype=bool)
    is_word[starts + lengths] = False
    tokens[is_word] = ids
    del is_word
    sa_dtype = np.dtype("<i4") if tokens.size < 2**31 else np.dtype("<i8")
    # sentinel suffixes start with the largest id, so they sort last: the first `total` are the words
    suffixes = np.asarray(divsufsort(tokens)) if total else np.zeros(0, np.int64)
    sa: NDArray[np.signedinteger[Any]] = suffixes[:total].astype(sa_dtype, copy=False)
    return _Arrays(np.ascontiguousarray(vocab, dtype="<u8"), starts, tokens, sa)


def _tokenise_corpus(texts: Sequence[str]) -> tuple[NDArray[np.uint32], Int64s, NDArray[np.uint64]]:
    docs = [words(t) for t in texts]
    by_hash: dict[int, str] = {}
    for doc in docs:
        for w in doc:
            h = word_hash(w)
            if by_hash.setdefault(h, w) != w:
                raise AttributionError(f"span index: words {w!r} and {by_hash[h]!r} share a 64-bit hash")
    vocab = np.array(sorted(by_hash), dtype="<u8")
    rank = {by_hash[int(h)]: i for i, h in enumerate(vocab.tolist())}
    total = sum(len(d) for d in docs)
    ids = np.fromiter((rank[w] for d in docs for w in d), dtype=np.uint32, count=total)
    return ids, np.array([len(d) for d in docs], dtype=np.int64), vocab


class SpanIndex:
    def __init__(
        self,
        texts: Sequence[str] | None,
        args: SpanArguments | None = None,
        record_hashes: Sequence[str] | None = None,
        count_limit: int = COUNT_LIMIT,
        *,
        arrays: _Arrays | None = None,
        fingerprint: str | None = None,
    ):
        self.args = args or SpanArguments()
        self.count_limit = count_limit
        if arrays is None:
            texts = list(texts or [])
            if record_hashes is None:
                record_hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
            if len(record_hashes) != len(texts):
                raise AttributionError("span index: one record hash per text is needed")
            arrays = build_arrays(*_tokenise_corpus(texts))
            fingerprint = records_fingerprint(record_hashes)
        self.arrays = arrays
        self.fingerprint = fingerprint or ""

    @classmethod
    def from_ids(
        cls,
        ids: NDArray[np.integer[Any]],
        lengths: NDArray[np.integer[Any]],
        vocab: NDArray[np.uint64],
        args: SpanArguments | None = None,
        fingerprint: str = "",
    ) -> SpanIndex:
        """An index over already tokenised records (benchmarks: a synthetic corpus of word ids)."""
        return cls(None, args, arrays=build_arrays(ids, lengths, vocab), fingerprint=fingerprint)

    @property
    def size(self) -> int:
        """Records in the index."""
        return len(self.arrays.starts)

    @property
    def words(self) -> int:
        return len(self.arrays.sa)

    # -- files ---------------------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        offset, sections = 0, {}
        for name, array in self.arrays.sections().items():
            sections[name] = {"offset": offset, "count": int(array.size), "dtype": array.dtype.str}
            offset += -(-array.nbytes // _ALIGN) * _ALIGN
        return {
            "format": SPAN_FORMAT,
            "tokenizer": TOKENIZER,
            "fingerprint": self.fingerprint,
            "records": self.size,
            "words": self.words,
            "vocabulary": int(self.arrays.vocab.size),
            "sections": sections,
            "bytes": offset,
        }

    def save(self, directory: str | Path) -> None:
        directory, config = Path(directory), self.config()

        def write(path: Path) -> None:
            with open(path, "wb") as handle:
                for array in self.arrays.sections().values():
                    data = np.ascontiguousarray(array).tobytes()  # already little-endian dtypes
                    handle.write(data)
                    handle.write(b"\0" * (-len(data) % _ALIGN))
            if path.stat().st_size != config["bytes"]:
                raise AttributionError(
                    f"span index: wrote {path.stat().st_size} bytes, expected {config['bytes']}"
                )

        atomic_save(directory / SPAN_INDEX_DATA, write)
        atomic_write(directory / SPAN_INDEX_CONFIG, canonical_json(config) + b"\n")

    @classmethod
    def exists(cls, directory: str | Path) -> bool:
        d = Path(directory)
        return (d / SPAN_INDEX_CONFIG).is_file() and (d / SPAN_INDEX_DATA).is_file()

    @classmethod
    def load(
        cls,
        directory: str | Path,
        record_hashes: Sequence[str] | None = None,
        args: SpanArguments | None = None,
    ) -> SpanIndex:
        """The saved index, memory-mapped. With `record_hashes`, it must have been built for exactly those
        records in that order (SpanIndexMismatch otherwise)."""
        directory = Path(directory)
        if not cls.exists(directory):
            raise AttributionError(f"no span index in {directory}; build one first")
        config = json.loads((directory / SPAN_INDEX_CONFIG).read_text())
        if config.get("format") != SPAN_FORMAT or config.get("tokenizer") != TOKENIZER:
            raise SpanIndexMismatch(
                f"the span index in {directory} has format {config.get('format')} / {config.get('tokenizer')}"
                f"; this worker reads format {SPAN_FORMAT} / {TOKENIZER}: rebuild it"
            )
        if record_hashes is not None and config.get("fingerprint") != records_fingerprint(record_hashes):
            raise SpanIndexMismatch(
                f"the span index in {directory} was built for other training records "
                f"({config.get('records')} records, fingerprint {str(config.get('fingerprint'))[:12]}...) "
                f"than the {len(record_hashes)} given (fingerprint "
                f"{records_fingerprint(record_hashes)[:12]}...); rebuild it from the model's training records"
            )
        data = directory / SPAN_INDEX_DATA
        if data.stat().st_size != config["bytes"]:
            raise SpanIndexMismatch(
                f"{data} has {data.stat().st_size} bytes, its config says {config['bytes']}"
            )
        maps: dict[str, Any] = {}
        for name, s in config["sections"].items():
            count = int(s["count"])
            # np.memmap cannot map zero bytes; an empty section is an empty array
            maps[name] = (
                np.memmap(data, dtype=np.dtype(s["dtype"]), mode="r", offset=int(s["offset"]), shape=(count,))
                if count
                else np.zeros(0, dtype=np.dtype(s["dtype"]))
            )
        arrays = _Arrays(maps["vocab"], maps["starts"], maps["tokens"], maps["sa"])
        return cls(None, args, arrays=arrays, fingerprint=config["fingerprint"])

    @classmethod
    def for_model(
        cls,
        model_dir: str | Path,
        texts: Sequence[str],
        record_hashes: Sequence[str],
        args: SpanArguments | None = None,
        folder: str | Path | None = None,
        rebuild: bool = False,
    ) -> SpanIndex:
        """The index saved in `model_dir` (or `folder`) when it was built for these records, else one
        built and saved into `folder` (default: the model directory)."""
        target = Path(model_dir) if folder is None else Path(folder)
        if not rebuild:
            for place in dict.fromkeys((Path(model_dir), target)):
                try:
                    return cls.load(place, record_hashes, args)
                except AttributionError:
                    continue
        index = cls(texts, args, record_hashes)
        index.save(target)
        return index

    # -- search --------------------------------------------------------------------------------------

    def _ids(self, tokens: Sequence[str]) -> Int64s:
        vocab = self.arrays.vocab
        if not tokens or not vocab.size:
            return np.full(len(tokens), _UNKNOWN, dtype=np.int64)
        hashes = np.array([word_hash(t) for t in tokens], dtype=np.uint64)
        rank = np.searchsorted(vocab, hashes).astype(np.int64)
        found = np.asarray(vocab[np.minimum(rank, vocab.size - 1)]) == hashes
        return np.where(found, rank, _UNKNOWN)

    def _windows(self, positions: Int64s, width: int) -> Int64s:
        tokens = self.arrays.tokens
        at = np.minimum(positions[:, None] + np.arange(width)[None, :], tokens.size - 1)
        return np.asarray(tokens[at]).astype(np.int64)  # every record ends with a sentinel: the clip is safe

    def _bound(self, keys: Int64s, lengths: Int64s, strict: bool) -> Int64s:
        """Per key row, the first suffix whose first `lengths` words are >= the key (> when strict)."""
        sa, k = self.arrays.sa, len(keys)
        lo, hi = np.zeros(k, dtype=np.int64), np.full(k, sa.size, dtype=np.int64)
        rows, cols = np.arange(k), np.arange(keys.shape[1])[None, :]
        while True:
            active = lo < hi
            if not active.any():
                return lo
            mid = np.minimum((lo + hi) >> 1, sa.size - 1)
            window = self._windows(np.asarray(sa[mid]).astype(np.int64), keys.shape[1])
            differ = (window != keys) & (cols < lengths[:, None])
            first = differ.argmax(1)
            some = differ[rows, first]
            below = some & (window[rows, first] < keys[rows, first])
            right = below | ~some if strict else below
            lo = np.where(active & right, mid + 1, lo)
            hi = np.where(active & ~right, mid, hi)

    def _common_prefix(self, sa_rows: Int64s, keys: Int64s) -> Int64s:
        """Words the key rows share with the suffixes at `sa_rows` (0 for rows outside the array)."""
        sa = self.arrays.sa
        valid = (sa_rows >= 0) & (sa_rows < sa.size)
        positions = np.asarray(sa[np.clip(sa_rows, 0, max(sa.size - 1, 0))]).astype(np.int64)
        same = self._windows(positions, keys.shape[1]) == keys
        lengths = np.where(same.all(1), keys.shape[1], (~same).argmax(1))
        return np.where(valid, lengths, 0)

    def _longest(self, ids: Int64s, starts: Int64s, width: int) -> Int64s:
        """The longest match of ids[i:] in the corpus, for each i in `starts` (capped at `width`)."""
        keys = np.full((len(starts), width), _PAD, dtype=np.int64)
        for row, i in enumerate(starts.tolist()):
            piece = ids[i : i + width]
            keys[row, : len(piece)] = piece
        at = self._bound(keys, np.full(len(starts), width, dtype=np.int64), strict=False)
        return np.maximum(self._common_prefix(at - 1, keys), self._common_prefix(at, keys))

    def matching_lengths(self, ids: Int64s) -> Int64s:
        """ell[i]: the length of the longest prefix of ids[i:] found in the corpus."""
        ell = np.zeros(len(ids), dtype=np.int64)
        starts = np.flatnonzero(ids >= 0)
        if not len(starts) or not self.arrays.sa.size:
            return ell
        width = min(len(ids), _FIRST_WINDOW)
        ell[starts] = self._longest(ids, starts, width)
        longer = starts[(ell[starts] == width) & (len(ids) - starts > width)]
        if len(longer):
            ell[longer] = self._longest(ids, longer, len(ids))
        return ell

    def _records(self, lo: int, hi: int) -> tuple[tuple[int, ...], int, int]:
        """(records holding the suffixes sa[lo:hi] if enumerated, first record, word offset there)."""
        starts = self.arrays.starts
        if hi - lo > self.count_limit:
            position = int(self.arrays.sa[lo])
            doc = int(np.searchsorted(starts, position, side="right")) - 1
            return (), doc, position - int(starts[doc])
        positions = np.asarray(self.arrays.sa[lo:hi]).astype(np.int64)
        docs = np.searchsorted(starts, positions, side="right") - 1
        first = int(docs.min())
        offset = int(positions[docs == first].min()) - int(starts[first])
        return tuple(int(d) for d in np.unique(docs)), first, offset

    def _maximal(self, output: str) -> tuple[list[re.Match[str]], Int64s, list[int], list[int]]:
        """The output's words, their ids, and the starts and lengths of its maximal spans, longest first
        (then by output position)."""
        matches = word_matches(output)
        minimum = self.args.min_words
        if len(matches) < minimum:
            return matches, np.zeros(0, dtype=np.int64), [], []
        ids = self._ids([m.group().lower() for m in matches])
        ell = self.matching_lengths(ids)
        previous = np.concatenate([[0], ell[:-1]])
        starts = sorted(
            np.flatnonzero((ell >= minimum) & (previous <= ell)).tolist(), key=lambda i: (-int(ell[i]), i)
        )
        return matches, ids, starts, [int(ell[i]) for i in starts]

    def _spans(
        self, output: str, matches: list[re.Match[str]], ids: Int64s, starts: list[int], lengths: list[int]
    ) -> list[Span]:
        """The spans at `starts` of `lengths` words, with their occurrences and records."""
        if not starts:
            return []
        sizes = np.array(lengths, dtype=np.int64)
        keys = np.full((len(starts), int(sizes.max())), _PAD, dtype=np.int64)
        for row, (i, n) in enumerate(zip(starts, lengths, strict=True)):
            keys[row, :n] = ids[i : i + n]
        lows, highs = self._bound(keys, sizes, strict=False), self._bound(keys, sizes, strict=True)
        spans = []
        for i, n, lo, hi in zip(starts, lengths, lows.tolist(), highs.tolist(), strict=True):
            records, record, offset = self._records(lo, hi)
            text = output[matches[i].start() : matches[i + n - 1].end()]
            spans.append(Span(i, n, text, hi - lo, records, record, offset))
        return spans

    def find_all(self, output: str) -> list[Span]:
        """Every maximal span `output` shares with the corpus, longest first (then by output position):
        what an answer's span weights are computed from (worker.attribution.span_weights)."""
        matches, ids, starts, lengths = self._maximal(output)
        return self._spans(output, matches, ids, starts, lengths)

    def find(self, output: str) -> list[Span]:
        """The maximal spans `output` shares with the corpus that are shown as evidence: at most
        `args.max_spans`, chosen by `shown` (see the module docstring)."""
        matches, ids, starts, lengths = self._maximal(output)
        keep = shown(starts, lengths, self.args.min_words, self.args.max_spans)
        return self._spans(output, matches, ids, [starts[k] for k in keep], [lengths[k] for k in keep])


def shown(starts: Sequence[int], lengths: Sequence[int], min_words: int, limit: int) -> list[int]:
    """Which of the spans at `starts` (`lengths` words, longest first, then by output position) are shown
    when at most `limit` are: one at a time, the span covering the most output `min_words`-gram positions
    that no span shown so far covers (then the longer, then the earlier), so that many overlapping spans
    (sliding windows over one passage) cannot push spans elsewhere in the output out of the evidence.
    Indices into `starts`, longest first (then by output position). Spans that share no position come out
    exactly as the `limit` longest."""
    count = len(starts)
    if count <= limit:
        return list(range(count))
    first = np.asarray(starts, dtype=np.int64)
    end = first + np.maximum(np.asarray(lengths, dtype=np.int64) - min_words + 1, 0)
    covered = np.zeros(int(end.max()) + 1, dtype=np.int64)
    taken: list[int] = []
    free = set(range(count))
    for _ in range(max(limit, 0)):
        sums = np.concatenate([[0], np.cumsum(covered)])
        new = ((end - first) - (sums[end] - sums[first])).tolist()
        best = min(free, key=lambda k: (-new[k], -lengths[k], starts[k]))
        free.discard(best)
        taken.append(best)
        covered[first[best] : end[best]] = 1
    return sorted(taken)  # `starts` is longest first, then by position


def shown_spans(spans: Sequence[Span], min_words: int, limit: int) -> list[Span]:
    """`shown` over Span objects (longest first, then by output position, as `SpanIndex.find_all` gives)."""
    keep = shown([s.output_start for s in spans], [s.length for s in spans], min_words, limit)
    return [spans[k] for k in keep]
