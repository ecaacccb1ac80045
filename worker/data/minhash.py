"""MinHash signatures over 5-byte shingles, vectorised with numpy (50k short texts in about a second).

A shingle is 5 consecutive bytes of the normalised UTF-8 text, packed exactly into a 40-bit integer (no
hash collisions at this stage). Each of the `num_perm` permutations is a multiply-shift hash
h(x) = ((a*x + b) mod 2^64) >> 32 with odd `a`: universal, and numpy computes it on all shingles of all
texts at once; `np.minimum.reduceat` then takes each text's minimum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

SHINGLE_BYTES = 5


def shingle_arrays(texts: Sequence[str]) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """All shingles of all texts (uint64, text after text) and the start offset of each text's run.

    A text shorter than a shingle is padded with zero bytes, so every text has at least one shingle.
    """
    encoded = [t.encode("utf-8").ljust(SHINGLE_BYTES, b"\0") for t in texts]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    if not encoded:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    joined = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
    packed = np.zeros(len(joined) - SHINGLE_BYTES + 1, dtype=np.uint64)
    for j in range(SHINGLE_BYTES):
        packed = (packed << np.uint64(8)) | joined[j:len(joined) - SHINGLE_BYTES + 1 + j]
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    counts = lengths - SHINGLE_BYTES + 1
    # Keep only windows that lie inside one text (drop those straddling two).
    valid = np.repeat(starts, counts) + _ranges(counts)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return packed[valid], offsets


def _ranges(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """[0..c0-1, 0..c1-1, ...] without a Python loop."""
    total = int(counts.sum())
    run_starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - run_starts


class MinHasher:
    def __init__(self, num_perm: int = 64, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self._a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)

    def signatures(self, texts: Sequence[str]) -> tuple[NDArray[np.uint32], list[NDArray[np.uint64]]]:
        """(signatures, shingle sets): a (len(texts), num_perm) uint32 matrix and each text's unique
        shingles (sorted), kept for the exact Jaccard check of LSH candidates."""
        if len(texts) >= 1 << 24:
            raise ValueError("at most 16M texts per call (text ids share a 64-bit word with shingles)")
        signatures = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        if not texts:
            return signatures, []
        values, starts = _unique_per_text(texts)
        hashed = np.empty_like(values)
        shift = np.uint64(32)
        for i in range(self.num_perm):  # in place: no temporary arrays per permutation
            np.multiply(values, self._a[i], out=hashed)
            np.add(hashed, self._b[i], out=hashed)
            np.right_shift(hashed, shift, out=hashed)
            signatures[:, i] = np.minimum.reduceat(hashed, starts)
        return signatures, np.split(values, starts[1:])


def _unique_per_text(texts: Sequence[str]) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
    """Each text's distinct shingles, sorted, concatenated; and where each text's run starts.
    One global sort of (text id << 40 | shingle) instead of one np.unique per text."""
    shingles, offsets = shingle_arrays(texts)
    counts = np.diff(np.append(offsets, len(shingles)))
    text_ids = np.repeat(np.arange(len(texts), dtype=np.uint64), counts)
    keys = np.unique((text_ids << np.uint64(40)) | shingles)
    values = keys & np.uint64((1 << 40) - 1)
    starts = np.searchsorted(keys >> np.uint64(40), np.arange(len(texts), dtype=np.uint64))
    return values, starts


def jaccard(a: NDArray[np.uint64], b: NDArray[np.uint64]) -> float:
    """Exact Jaccard similarity of two sorted unique shingle arrays."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0
