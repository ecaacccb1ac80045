"""The suffix-array span index: maximal spans and counts against a brute-force reference, deterministic
files, memory-mapped loading, refusal of an index built for other records."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from worker.attribution.arguments import SpanArguments
from worker.attribution.spans import (
    SPAN_INDEX_CONFIG,
    SPAN_INDEX_DATA,
    SpanIndex,
    SpanIndexMismatch,
    records_fingerprint,
    shown_spans,
    words,
)
from worker.errors import AttributionError

ROOT = Path(__file__).resolve().parents[2]


def brute_force(
    docs: list[list[str]], out: list[str], minimum: int
) -> list[tuple[int, int, tuple[int, ...], int]]:
    """(output start, length, records holding it, occurrences) of every maximal shared span, longest first."""

    def occurs(span: list[str], doc: list[str]) -> int:
        return sum(doc[j : j + len(span)] == span for j in range(len(doc) - len(span) + 1))

    ell = []
    for i in range(len(out)):
        best = 0
        for doc in docs:
            for j in range(len(doc)):
                k = 0
                while i + k < len(out) and j + k < len(doc) and out[i + k] == doc[j + k]:
                    k += 1
                best = max(best, k)
        ell.append(best)
    found = []
    for i, n in enumerate(ell):
        if n >= minimum and (i == 0 or ell[i - 1] <= n):
            span = out[i : i + n]
            holders = tuple(r for r, d in enumerate(docs) if occurs(span, d))
            found.append((i, n, holders, sum(occurs(span, d) for d in docs)))
    return sorted(found, key=lambda f: (-f[1], f[0]))


def test_maximal_spans_and_counts_match_a_brute_force_reference():
    rng = random.Random(7)
    for _ in range(250):
        vocabulary = [f"w{k}" for k in range(rng.randint(2, 6))]
        docs = [[rng.choice(vocabulary) for _ in range(rng.randint(0, 14))] for _ in range(rng.randint(1, 7))]
        out = [rng.choice([*vocabulary, "unseen"]) for _ in range(rng.randint(0, 16))]
        minimum = rng.randint(1, 4)
        index = SpanIndex([" ".join(d) for d in docs], SpanArguments(min_words=minimum, max_spans=1000))
        got = [(s.output_start, s.length, s.records, s.occurrences) for s in index.find(" ".join(out))]
        assert got == brute_force(docs, out, minimum), (docs, out, minimum)
        assert index.find_all(" ".join(out)) == index.find(" ".join(out))


def test_shown_spans_are_chosen_by_positions_not_yet_covered():
    rng = random.Random(9)
    for _ in range(200):
        vocabulary = [f"w{k}" for k in range(rng.randint(2, 5))]
        docs = [[rng.choice(vocabulary) for _ in range(rng.randint(0, 14))] for _ in range(rng.randint(1, 7))]
        out = " ".join(rng.choice([*vocabulary, "unseen"]) for _ in range(rng.randint(0, 20)))
        minimum, limit = rng.randint(1, 3), rng.randint(0, 4)
        index = SpanIndex([" ".join(d) for d in docs], SpanArguments(min_words=minimum, max_spans=limit))
        every, got = index.find_all(out), index.find(out)
        assert got == shown_spans(every, minimum, limit) and len(got) == min(limit, len(every))
        assert got == sorted(got, key=lambda s: (-s.length, s.output_start))  # still longest first
        positions = [set(range(s.output_start, s.output_start + s.length - minimum + 1)) for s in every]
        if not any(a & b for i, a in enumerate(positions) for b in positions[:i]):
            assert got == every[:limit]  # spans that share no position: the longest, as before
    # sliding windows over one passage, longer than a span elsewhere: the shorter span is still shown
    passage = [f"p{i}" for i in range(40)]
    windows = [" ".join(passage[i : i + 10]) for i in range(31)]
    index = SpanIndex([*windows, "q0 q1 q2 q3 q4 q5"], SpanArguments(max_spans=6))
    shown = index.find(" ".join(passage) + " and q0 q1 q2 q3 q4 q5")
    assert [s.length for s in shown] == [10, 10, 10, 10, 10, 6] and shown[-1].records == (31,)
    assert [s.output_start for s in shown[:5]] == [0, 7, 14, 21, 28]  # each adds the most new positions


def test_long_copies_beyond_the_first_search_window_are_found_whole():
    rng = random.Random(3)
    record = " ".join(f"t{rng.randint(0, 30)}" for _ in range(300))
    index = SpanIndex(["a short record here", record, "another one"])
    copied = " ".join(record.split()[20:230])
    spans = index.find(f"prefix words {copied} and more")
    assert (spans[0].length, spans[0].records, spans[0].record_start) == (210, (1,), 20)
    assert spans[0].text == copied


def test_span_text_is_the_output_as_written_and_records_are_counted():
    train = [
        "The quick brown fox jumps over the lazy dog.",
        "Another record: the quick brown fox jumps over a fence.",
        "nothing to see",
    ]
    index = SpanIndex(train, SpanArguments(min_words=3))
    spans = index.find("Look! The Quick brown fox jumps over, then sleeps.")
    assert spans[0].text == "The Quick brown fox jumps over"
    assert (spans[0].records, spans[0].count, spans[0].occurrences, spans[0].record) == ((0, 1), 2, 2, 0)
    assert words("The Quick, brown") == ["the", "quick", ",", "brown"]
    assert index.find("") == [] and index.find("no match anywhere in these words") == []
    assert SpanIndex([], SpanArguments(min_words=1)).find("anything at all") == []


def test_spans_held_by_more_than_the_count_limit_are_not_enumerated():
    train = ["a b c d"] * 5 + ["x y z w"]
    index = SpanIndex(train, count_limit=3)
    common, rare = index.find("a b c d then x y z w")
    assert (common.occurrences, common.records, common.count) == (5, (), 5)
    assert (rare.records, rare.count) == ((5,), 1)


def _saved(tmp_path: Path, name: str, texts: list[str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    SpanIndex(texts, record_hashes=[f"{i:064x}" for i in range(len(texts))]).save(folder)
    return folder


def _digest(folder: Path) -> str:
    return hashlib.sha256(
        b"".join((folder / n).read_bytes() for n in (SPAN_INDEX_CONFIG, SPAN_INDEX_DATA))
    ).hexdigest()


TEXTS = ["the rain in spain falls mainly on the plain", "Zebra crossings, über café naïve", "a b c d e f"] * 3


def test_two_builds_write_byte_identical_files_whatever_the_hash_seed(tmp_path):
    first, second = _saved(tmp_path, "one", TEXTS), _saved(tmp_path, "two", TEXTS)
    assert _digest(first) == _digest(second)
    script = (
        "import sys; from pathlib import Path; from worker.attribution.spans import SpanIndex; "
        f"t = {TEXTS!r}; h = [f'{{i:064x}}' for i in range(len(t))]; "
        "SpanIndex(t, record_hashes=h).save(Path(sys.argv[1]))"
    )
    third = tmp_path / "three"
    third.mkdir()
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", script, str(third)], check=True, env=env, cwd=tmp_path)
    assert _digest(third) == _digest(first)
    assert (first / SPAN_INDEX_DATA).stat().st_size % 64 == 0


def test_the_saved_index_is_memory_mapped_and_answers_as_built(tmp_path):
    built = SpanIndex(TEXTS, record_hashes=[f"{i:064x}" for i in range(len(TEXTS))])
    built.save(tmp_path)
    loaded = SpanIndex.load(tmp_path, [f"{i:064x}" for i in range(len(TEXTS))])
    assert all(isinstance(a, np.memmap) for a in loaded.arrays.sections().values())
    assert loaded.arrays.tokens.dtype == np.dtype("<u2") and loaded.arrays.sa.dtype == np.dtype("<i4")
    output = "I read that the rain in Spain falls mainly on the plain, a b c d e."
    assert loaded.find(output) == built.find(output) and loaded.find(output)[0].count == 3


def test_an_index_built_for_other_records_is_refused(tmp_path):
    hashes = [f"{i:064x}" for i in range(len(TEXTS))]
    SpanIndex(TEXTS, record_hashes=hashes).save(tmp_path)
    with pytest.raises(SpanIndexMismatch, match="built for other training records"):
        SpanIndex.load(tmp_path, hashes[::-1])
    with pytest.raises(SpanIndexMismatch, match="built for other training records"):
        SpanIndex.load(tmp_path, hashes[:-1])
    config = (tmp_path / SPAN_INDEX_CONFIG).read_text()
    (tmp_path / SPAN_INDEX_CONFIG).write_text(config.replace('"format":1', '"format":99'))
    with pytest.raises(SpanIndexMismatch, match="format 99"):
        SpanIndex.load(tmp_path, hashes)
    with pytest.raises(AttributionError, match="no span index"):
        SpanIndex.load(tmp_path / "elsewhere")


def test_for_model_reuses_a_matching_index_and_rebuilds_a_stale_one(tmp_path):
    hashes = [f"{i:064x}" for i in range(len(TEXTS))]
    first = SpanIndex.for_model(tmp_path, TEXTS, hashes)
    assert first.fingerprint == records_fingerprint(hashes) and SpanIndex.exists(tmp_path)
    again = SpanIndex.for_model(tmp_path, TEXTS, hashes)
    assert isinstance(again.arrays.sa, np.memmap)
    fewer = SpanIndex.for_model(tmp_path, TEXTS[:2], hashes[:2])
    assert fewer.size == 2 and SpanIndex.load(tmp_path, hashes[:2]).size == 2


def test_an_index_of_word_ids_needs_wide_ids_for_a_large_vocabulary():
    vocab = np.sort(np.random.default_rng(0).integers(0, 2**63, size=70_000, dtype=np.uint64))
    ids = np.arange(70_000, dtype=np.uint32)
    index = SpanIndex.from_ids(ids, np.array([35_000, 35_000]), vocab)
    assert index.arrays.tokens.dtype == np.dtype("<u4") and index.arrays.tokens[35_000] == 2**32 - 1
    assert index.words == 70_000 and index.size == 2
