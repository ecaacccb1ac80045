"""Span evidence at corpus scale: the suffix-array span index against the dict-of-n-grams index it replaced.

    python bench/span_index.py [--tokens 100e6] [--peer-tokens 1e6] [--answers 200]

A synthetic corpus of Zipf-distributed words (vocabulary `--vocabulary`, records of 50-350 words) is
generated with numpy. At `--tokens` the index is built from word ids (the suffix array and the files;
tokenising text is measured separately, at the peer size), saved, then served by a fresh process that
memory-maps it and answers `--answers` 200-word answers (each a mix of 5-30-word copies of training
records and random words): lookup p50/p99 through `SpanIndex.find` (tokenising and hashing the answer
included) and that process's resident memory. At `--peer-tokens` the old dict index (kept below as
`DictSpanIndex`, the implementation this one replaced) and the new one are built from the same texts and
answer the same answers, side by side. Page cache is warm (the index was just written). Lookups are
given as wall time and as the thread's CPU time (what the lookup costs when the cores are shared).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.attribution.arguments import SpanArguments  # noqa: E402
from worker.attribution.spans import SpanIndex, word_hash  # noqa: E402

_WORD = re.compile(r"\w+|[^\w\s]")


class DictSpanIndex:
    """The previous implementation (worker/attribution/spans.py before the suffix array), for reference."""

    def __init__(self, texts: Sequence[str], min_words: int = 4, max_spans: int = 20):
        self.n, self.max_spans = min_words, max_spans
        self.docs = [_WORD.findall(t.lower()) for t in texts]
        self.grams: dict[tuple[str, ...], list[tuple[int, int]]] = defaultdict(list)
        for d, doc in enumerate(self.docs):
            for i in range(len(doc) - self.n + 1):
                self.grams[tuple(doc[i : i + self.n])].append((d, i))

    def _longest_at(self, out: list[str], start: int) -> tuple[int, int, int]:
        best = (0, -1, -1)
        for d, j in self.grams.get(tuple(out[start : start + self.n]), ()):
            doc, length = self.docs[d], self.n
            while (
                start + length < len(out) and j + length < len(doc) and out[start + length] == doc[j + length]
            ):
                length += 1
            if length > best[0]:
                best = (length, d, j)
        return best

    def find(self, output: str) -> list[tuple[int, int, int]]:
        out, spans, reach = _WORD.findall(output.lower()), [], 0
        for i in range(len(out) - self.n + 1):
            length, record, _ = self._longest_at(out, i)
            if length and i + length > reach:
                spans.append((i, length, record))
                reach = i + length
        spans.sort(key=lambda s: (-s[1], s[0]))
        return spans[: self.max_spans]


# -- corpus --------------------------------------------------------------------------------------------


def corpus(tokens: int, vocabulary: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(word numbers, record lengths, sorted vocabulary hashes, id of each word number). Word k is "w{k}"."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, vocabulary + 1) ** 1.1
    cdf = np.cumsum(weights / weights.sum())
    numbers = np.minimum(np.searchsorted(cdf, rng.random(tokens)), vocabulary - 1).astype(np.uint32)
    lengths = rng.integers(50, 351, size=tokens // 200 + 1)
    cut = int(np.searchsorted(np.cumsum(lengths), tokens))
    lengths = lengths[: cut + 1]
    lengths[-1] -= int(lengths.sum()) - tokens
    lengths = lengths[lengths > 0]
    hashes = np.array([word_hash(f"w{k}") for k in range(vocabulary)], dtype=np.uint64)
    order = np.argsort(hashes, kind="stable")
    rank = np.empty(vocabulary, dtype=np.uint32)
    rank[order] = np.arange(vocabulary, dtype=np.uint32)
    return numbers, lengths.astype(np.int64), hashes[order], rank


def answers(numbers: np.ndarray, lengths: np.ndarray, count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed + 1)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    vocabulary = int(numbers.max()) + 1
    out = []
    for _ in range(count):
        words: list[int] = []
        while len(words) < 200:
            if rng.random() < 0.5:
                d = int(rng.integers(len(lengths)))
                n = int(min(rng.integers(5, 31), lengths[d]))
                o = int(rng.integers(0, lengths[d] - n + 1))
                words += numbers[starts[d] + o : starts[d] + o + n].tolist()
            else:
                words += rng.integers(0, min(vocabulary, 5000), size=int(rng.integers(3, 12))).tolist()
        out.append(" ".join(f"w{k}" for k in words[:200]))
    return out


def texts_of(numbers: np.ndarray, lengths: np.ndarray) -> list[str]:
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return [
        " ".join(f"w{k}" for k in numbers[s : s + n].tolist()) for s, n in zip(starts, lengths, strict=True)
    ]


# -- serving processes ---------------------------------------------------------------------------------


def _memory() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def _timed(find: Any, queries: list[str]) -> dict[str, float]:
    find(queries[0])
    times, cpu = [], []
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        find(q)
        times.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    ms, cpu_ms = np.array(times) * 1e3, np.array(cpu) * 1e3
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "cpu_p50_ms": float(np.percentile(cpu_ms, 50)),
        "cpu_p99_ms": float(np.percentile(cpu_ms, 99)),
    }


def serve(mode: str, path: str, queries_file: str) -> None:
    queries = json.loads(Path(queries_file).read_text())
    before = _memory()
    t = time.perf_counter()
    if mode == "dict":
        index: Any = DictSpanIndex(json.loads(Path(path).read_text()))
    else:
        index = SpanIndex.load(path, args=SpanArguments())
    ready = time.perf_counter() - t
    loaded = _memory()
    result = _timed(index.find, queries)
    after = _memory()
    result.update(
        load_s=ready,
        rss_loaded_mb=loaded["VmRSS"] - before["VmRSS"],
        rss_index_mb=after["VmRSS"] - before["VmRSS"],
        rss_serving_mb=after["VmRSS"],
        rss_anon_mb=after["RssAnon"],
        rss_file_mb=after["RssFile"],
        baseline_mb=before["VmRSS"],
    )
    print(json.dumps(result))


def run_server(mode: str, path: Path, queries: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--serve", mode, str(path), str(queries)]
    result: dict[str, float] = json.loads(
        subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    )
    return result


def size_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.iterdir()) / 1e6


# -- main ----------------------------------------------------------------------------------------------


def peer_rows(tokens: int, vocabulary: int, count: int, work: Path) -> list[dict[str, Any]]:
    numbers, lengths, _, _ = corpus(tokens, vocabulary, seed=1)
    texts, queries = texts_of(numbers, lengths), answers(numbers, lengths, count, seed=1)
    qfile, tfile = work / "peer-answers.json", work / "peer-texts.json"
    qfile.write_text(json.dumps(queries))
    tfile.write_text(json.dumps(texts))
    t = time.perf_counter()
    reference = DictSpanIndex(texts)
    dict_build = time.perf_counter() - t
    folder = work / "peer-index"
    folder.mkdir()
    t = time.perf_counter()
    SpanIndex(texts).save(folder)
    ours_build = time.perf_counter() - t
    old, new = run_server("dict", tfile, qfile), run_server("sa", folder, qfile)
    new_answers = SpanIndex.load(folder).find(queries[0])
    old_answers = reference.find(queries[0])
    agree = [(s.output_start, s.length) for s in new_answers] == [(i, n) for i, n, _ in old_answers]
    return [
        {"index": "dict of n-grams (old)", "tokens": tokens, "build_s": dict_build, "disk_mb": 0.0, **old},
        {
            "index": "suffix array (new)",
            "tokens": tokens,
            "build_s": ours_build,
            "disk_mb": size_mb(folder),
            **new,
            "agree_on_first_answer": agree,
        },
    ]


def scale_row(tokens: int, vocabulary: int, count: int, work: Path) -> dict[str, Any]:
    t = time.perf_counter()
    numbers, lengths, vocab, rank = corpus(tokens, vocabulary, seed=2)
    ids = rank[numbers]
    generate = time.perf_counter() - t
    queries = answers(numbers, lengths, count, seed=2)
    del numbers
    qfile, folder = work / "answers.json", work / "index"
    qfile.write_text(json.dumps(queries))
    folder.mkdir()
    t = time.perf_counter()
    SpanIndex.from_ids(ids, lengths, vocab).save(folder)
    build = time.perf_counter() - t
    del ids
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    served = run_server("sa", folder, qfile)
    return {
        "index": "suffix array (new)",
        "tokens": tokens,
        "build_s": build,
        "disk_mb": size_mb(folder),
        "generate_s": generate,
        "build_peak_rss_mb": peak,
        **served,
    }


def show(rows: list[dict[str, Any]]) -> None:
    cols = [
        "index",
        "tokens",
        "build_s",
        "disk_mb",
        "load_s",
        "rss_loaded_mb",
        "rss_index_mb",
        "rss_serving_mb",
        "rss_anon_mb",
        "rss_file_mb",
        "p50_ms",
        "p99_ms",
        "cpu_p50_ms",
        "cpu_p99_ms",
        "agree_on_first_answer",
    ]
    print(" | ".join(cols))
    for row in rows:
        cells = []
        for c in cols:
            v = row.get(c, "")
            cells.append(f"{v:.2f}" if isinstance(v, float) else f"{v:.0e}" if c == "tokens" else str(v))
        print(" | ".join(cells))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=float, default=100e6)
    parser.add_argument("--peer-tokens", type=float, default=1e6)
    parser.add_argument("--vocabulary", type=int, default=200_000)
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    work = Path(
        tempfile.mkdtemp(
            prefix="span-bench-", dir=ROOT / ".bench-cache" if (ROOT / ".bench-cache").is_dir() else None
        )
    )
    try:
        rows = peer_rows(int(args.peer_tokens), args.vocabulary, args.answers, work)
        show(rows)
        rows.append(scale_row(int(args.tokens), args.vocabulary, args.answers, work))
        print()
        show(rows)
        big = rows[-1]
        b = big
        print(
            f"\n{b['tokens']:.0e} tokens: corpus generated in {b['generate_s']:.1f} s, index built in "
            f"{b['build_s']:.1f} s (peak RSS {b['build_peak_rss_mb']:.0f} MB), "
            f"{b['disk_mb']:.0f} MB on disk; "
            f"serving: +{b['rss_loaded_mb']:.1f} MB after load, +{b['rss_index_mb']:.0f} MB after answering "
            f"({b['rss_serving_mb']:.0f} MB in all, torch included: {b['rss_anon_mb']:.0f} MB anonymous + "
            f"{b['rss_file_mb']:.0f} MB of mapped pages) after {args.answers} answers; lookup per "
            f"200-word answer p50 {b['p50_ms']:.2f} ms, p99 {b['p99_ms']:.2f} ms (target < 20 ms); CPU time "
            f"p50 {b['cpu_p50_ms']:.2f} ms, p99 {b['cpu_p99_ms']:.2f} ms; "
            f"machine load {os.getloadavg()[0]:.1f}"
        )
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.sync()


if __name__ == "__main__":
    main()
