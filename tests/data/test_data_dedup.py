"""Exact and near-duplicate detection against accepted contributions."""

from __future__ import annotations

import random
import time

import pytest

from worker.data import DuplicateIndex, exact_key, normalize_text
from worker.data.dedup import DuplicateMatch
from worker.data.minhash import MinHasher, jaccard
from worker.errors import DataError


def _sentences(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(4000)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(12, 30))) for _ in range(n)]


def test_normalisation_ignores_case_whitespace_and_punctuation() -> None:
    assert normalize_text("  Hello,\tWORLD!!  It's   me. ") == "hello world its me"
    assert normalize_text("Ｆｕｌｌ－ｗｉｄｔｈ") == "fullwidth"  # NFKC
    assert exact_key("Hello world") == exact_key("hello... WORLD?") != exact_key("hello worlds")


def test_exact_and_near_duplicates_are_reported_with_their_contribution() -> None:
    accepted = _sentences(300, 1)
    index = DuplicateIndex(threshold=0.8)
    index.add(7, [{"text": t, "label": "a"} for t in accepted[:150]])
    index.add(9, [{"text": t, "label": "b"} for t in accepted[150:]])
    words = accepted[200].split()
    words[len(words) // 2] = "qqqqqq"  # one word changed in a long sentence: a near duplicate
    fresh = _sentences(5, 2)
    batch = [{"text": fresh[0]},
             {"text": accepted[10].upper() + " !!!"},  # exact once normalised
             {"text": " ".join(words)},
             {"text": fresh[1]},
             {"prompt": accepted[160], "completion": ""}]  # generation records compare prompt+completion
    matches = index.find(batch)
    assert [(m.record_index, m.kind, m.contribution_id, m.matched_index) for m in matches] == [
        (1, "exact", 7, 10), (2, "near", 9, 50), (4, "exact", 9, 10)]
    near = matches[1]
    assert 0.8 <= near.similarity < 1.0
    hasher = MinHasher()
    _, sets = hasher.signatures([normalize_text(" ".join(words)), normalize_text(accepted[200])])
    assert near.similarity == pytest.approx(jaccard(*sets), abs=1e-4)  # reported similarity is exact


def test_threshold_is_respected() -> None:
    base = _sentences(1, 3)[0]
    words = base.split()
    variant = " ".join(words[: len(words) // 2] + ["zz"] * (len(words) - len(words) // 2))
    _, sets = MinHasher().signatures([normalize_text(base), normalize_text(variant)])
    similarity = jaccard(*sets)
    assert 0.1 < similarity < 0.9
    loose, strict = DuplicateIndex(threshold=similarity - 0.05), DuplicateIndex(threshold=similarity + 0.05)
    for index in (loose, strict):
        index.add(1, [{"text": base}])
    assert [m.kind for m in loose.find([{"text": variant}])] in (["near"], [])  # LSH may miss a low pair
    assert strict.find([{"text": variant}]) == []


def test_repeated_accepted_text_keeps_its_first_owner() -> None:
    index = DuplicateIndex()
    index.add(1, [{"text": "same words here"}])
    index.add(2, [{"text": "Same words, here."}])
    assert len(index) == 1
    assert index.find([{"text": "same words here"}]) == [DuplicateMatch(0, "exact", 1, 0, 1.0)]


def test_bad_parameters() -> None:
    with pytest.raises(DataError, match="threshold"):
        DuplicateIndex(threshold=0)
    with pytest.raises(DataError, match="multiple of bands"):
        DuplicateIndex(num_perm=64, bands=10)


def test_fifty_thousand_records_in_seconds() -> None:
    accepted = _sentences(50_000, 4)
    fresh = _sentences(50_000, 5)
    fresh[123] = accepted[4567].replace(" ", "  ").title()
    index = DuplicateIndex()
    start = time.perf_counter()
    for c in range(10):
        index.add(c + 1, [{"text": t} for t in accepted[c * 5000:(c + 1) * 5000]])
    matches = index.find([{"text": t} for t in fresh])
    elapsed = time.perf_counter() - start
    assert (123, "exact", 1, 4567) in [(m.record_index, m.kind, m.contribution_id, m.matched_index)
                                       for m in matches]
    assert elapsed < 30, f"50k x 50k took {elapsed:.1f}s"
