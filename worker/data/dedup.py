"""Exact and near-duplicate detection of new records against the records a Datanet already accepted.

Exact: same text once case, whitespace and punctuation are normalised away.
Near: Jaccard similarity of 5-byte shingle sets >= threshold. MinHash + LSH banding finds candidates
(`bands` x `rows` = `num_perm`; with 16 x 4 a pair at Jaccard 0.8 is missed with probability ~2e-4) and
every reported match is confirmed by the exact Jaccard, so there are no false positives.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from worker.data.minhash import MinHasher, jaccard
from worker.data.schema import record_text
from worker.errors import DataError

_NOT_WORD = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
MAX_CANDIDATES = 32
MAX_BUCKET = 256  # bounds the work when many accepted texts share a band


def normalize_text(text: str) -> str:
    """NFKC, case-folded, punctuation and symbols removed, runs of whitespace collapsed to one space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", _NOT_WORD.sub("", text)).strip()


def normalized_key(normalized: str) -> str:
    """A short digest of an already normalised text."""
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


def exact_key(text: str) -> str:
    """Equal for texts that differ only in case, whitespace and punctuation."""
    return normalized_key(normalize_text(text))


@dataclass(frozen=True)
class DuplicateMatch:
    """Record `record_index` of the checked batch duplicates record `matched_index` of `contribution_id`."""

    record_index: int
    kind: Literal["exact", "near"]
    contribution_id: int
    matched_index: int
    similarity: float


class DuplicateIndex:
    """The accepted records of a Datanet, indexed for `find(records)`."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 64, bands: int = 16, seed: int = 1) -> None:
        if not 0.0 < threshold <= 1.0:
            raise DataError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        if num_perm % bands:
            raise DataError(f"num_perm ({num_perm}) must be a multiple of bands ({bands})")
        self.threshold = threshold
        self.bands = bands
        self.rows = num_perm // bands
        self._hasher = MinHasher(num_perm, seed)
        self._band_mix = np.random.default_rng(seed + 1).integers(1, 2**63, size=self.rows, dtype=np.uint64)
        self._exact: dict[str, tuple[int, int]] = {}
        self._owners: list[tuple[int, int]] = []
        self._sets: list[NDArray[np.uint64]] = []
        self._key_parts: list[NDArray[np.uint64]] = []
        self._table: list[tuple[NDArray[np.uint64], NDArray[np.intp]]] | None = None

    def __len__(self) -> int:
        return len(self._owners)

    def add(self, contribution_id: int, records: Sequence[Mapping[str, str]]) -> None:
        """Index an accepted contribution's records (an exact repeat of an indexed text is skipped)."""
        fresh: list[tuple[int, str]] = []
        for index, record in enumerate(records):
            text = normalize_text(record_text(record))
            owner = (contribution_id, index)
            if self._exact.setdefault(normalized_key(text), owner) == owner:
                fresh.append((index, text))
        signatures, sets = self._hasher.signatures([text for _, text in fresh])
        self._owners.extend((contribution_id, index) for index, _ in fresh)
        self._sets.extend(sets)
        self._key_parts.append(self._band_keys(signatures))
        self._table = None

    def find(self, records: Sequence[Mapping[str, str]]) -> list[DuplicateMatch]:
        """At most one match per duplicate record: exact if any, else the most similar near duplicate."""
        matches: list[DuplicateMatch] = []
        pending: list[tuple[int, str]] = []
        for index, record in enumerate(records):
            text = normalize_text(record_text(record))
            owner = self._exact.get(normalized_key(text))
            if owner is not None:
                matches.append(DuplicateMatch(index, "exact", owner[0], owner[1], 1.0))
            else:
                pending.append((index, text))
        signatures, sets = self._hasher.signatures([text for _, text in pending])
        for row, votes in self._candidates(self._band_keys(signatures)).items():
            match = self._best_near(pending[row][0], votes, sets[row])
            if match is not None:
                matches.append(match)
        return sorted(matches, key=lambda m: m.record_index)

    def _band_keys(self, signatures: NDArray[np.uint32]) -> NDArray[np.uint64]:
        """One 64-bit key per text and band (a collision only adds a candidate, checked exactly later)."""
        bands = signatures.astype(np.uint64).reshape(len(signatures), self.bands, self.rows)
        keys: NDArray[np.uint64] = (bands * self._band_mix).sum(axis=2, dtype=np.uint64)
        return keys

    def _lookup_table(self) -> list[tuple[NDArray[np.uint64], NDArray[np.intp]]]:
        """Per band: the indexed keys sorted, and which indexed text each belongs to."""
        if self._table is None:
            empty = np.zeros((0, self.bands), np.uint64)
            keys = np.concatenate(self._key_parts) if self._key_parts else empty
            orders = [np.argsort(keys[:, band], kind="stable") for band in range(self.bands)]
            self._table = [(keys[order, band], order) for band, order in enumerate(orders)]
        return self._table

    def _candidates(self, keys: NDArray[np.uint64]) -> dict[int, dict[int, int]]:
        """{query row: {indexed text: number of bands shared}}, by binary search in each band."""
        votes: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for band, (sorted_keys, owners) in enumerate(self._lookup_table()):
            low = np.searchsorted(sorted_keys, keys[:, band], "left")
            high = np.searchsorted(sorted_keys, keys[:, band], "right")
            for row in np.nonzero(high > low)[0].tolist():
                for ident in owners[low[row]:min(high[row], low[row] + MAX_BUCKET)].tolist():
                    votes[row][ident] += 1
        return votes

    def _best_near(
        self, index: int, votes: dict[int, int], shingles: NDArray[np.uint64]
    ) -> DuplicateMatch | None:
        # Most shared bands first: those are the likeliest true matches; cap the exact checks.
        ranked = sorted(votes, key=lambda ident: (-votes[ident], ident))[:MAX_CANDIDATES]
        best: tuple[float, int] | None = None
        for ident in ranked:
            similarity = jaccard(shingles, self._sets[ident])
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, ident)
        if best is None:
            return None
        contribution_id, matched = self._owners[best[1]]
        return DuplicateMatch(index, "near", contribution_id, matched, round(best[0], 4))
