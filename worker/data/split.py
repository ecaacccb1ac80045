"""Deterministic train/validation split by record hash.

A record goes to validation when sha256(seed prefix + canonical JSON of its content) falls below the
fraction. Membership depends only on the record and the seed: not on file order, not on which other
records are in the set, so a record stays on its side when a later version adds data, and identical texts
(even from two contributors) always land on the same side (no train/validation leakage). The
"contributor" field is provenance, not content, and is left out of the hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from worker.canonical import canonical_json
from worker.errors import DataError

T = TypeVar("T")
_SCALE = float(2**64)


@dataclass(frozen=True)
class Split(Generic[T]):
    train: list[T]
    validation: list[T]


def _content(item: object) -> Mapping[str, object]:
    record = getattr(item, "record", item)  # DatasetRecord or a plain record dict
    if not isinstance(record, Mapping):
        raise DataError(f"cannot split a {type(item).__name__}: expected records (dicts) or DatasetRecords")
    return {k: v for k, v in record.items() if k != "contributor"}


def split_score(record: Mapping[str, object], seed: int = 0) -> float:
    """A uniform number in [0, 1) fixed by the record's content and the seed."""
    digest = hashlib.sha256(f"openledger-split/{seed}/".encode() + canonical_json(_content(record))).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def split_records(items: Sequence[T], validation_fraction: float, seed: int = 0) -> Split[T]:
    """Both sides come out sorted by (score, content, provenance), so input order never shows.

    If the fraction is positive and no record falls below it, the lowest-scoring record is moved to
    validation (tiny datasets still get a validation set, chosen just as deterministically).
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise DataError(f"validation fraction must be in [0, 1), got {validation_fraction}")
    keyed = sorted((*_sort_key(item, seed), i) for i, item in enumerate(items))
    validation = [items[k[-1]] for k in keyed if k[0] < validation_fraction]
    train = [items[k[-1]] for k in keyed if k[0] >= validation_fraction]
    if validation_fraction > 0 and not validation and len(train) >= 2:
        validation, train = train[:1], train[1:]
    return Split(train=train, validation=validation)


def _sort_key(item: object, seed: int) -> tuple[float, bytes, bytes, int, int, str]:
    """Score, then content, then the whole record and provenance: only truly identical items tie."""
    content = _content(item)
    whole = canonical_json(getattr(item, "record", item))
    return (split_score(content, seed), canonical_json(content), whole,
            int(getattr(item, "contribution_id", 0)), int(getattr(item, "index", 0)),
            str(getattr(item, "contributor", "")))
