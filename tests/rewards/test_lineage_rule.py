"""The lineage rule as pure arithmetic: the split matches the contract's, conserves value, pays only the
ancestors' payable contributors, and restates attribution's ppm rule exactly."""

from __future__ import annotations

import json
import random

from eth_utils.address import to_checksum_address

from worker.attribution.shares import ppm_shares
from worker.rewards.lineage import (
    Ancestor,
    LineagePayout,
    LineageTerms,
    apply_lineage,
    clear_caches,
    ppm_weights,
    report_weights,
    upstream_split,
)
from worker.storage import LocalStore

A, B, C, P1, P2, G1 = (f"0x{i:040x}" for i in range(1, 7))


def test_ppm_weights_is_attributions_rule() -> None:
    rng = random.Random(7)
    for _ in range(200):
        masses = {f"k{i}": rng.uniform(-1, 3) for i in range(rng.randint(0, 9))}
        assert ppm_weights(masses) == ppm_shares(masses)


def test_upstream_split_matches_the_contract_rule() -> None:
    assert upstream_split(1_000_000, 3, 1_000) == [900_000, 90_000, 10_000]  # Lineage.t.sol
    assert upstream_split(7, 0, 1_000) == []
    rng = random.Random(1)
    for _ in range(500):
        upstream, levels, bps = rng.randint(0, 10**24), rng.randint(1, 8), rng.randint(0, 5_000)
        kept = upstream_split(upstream, levels, bps)
        assert sum(kept) == upstream and all(k >= 0 for k in kept)


def _terms(bps: int = 1_000) -> LineageTerms:
    parent = Ancestor(2, 5, "bafyparent", ((P1, 600_000), (P2, 400_000)), frozenset({P1, P2}))
    grand = Ancestor(1, 3, "bafygrand", ((G1, 1_000_000),), frozenset())  # G1 not payable
    return LineageTerms(99, bps, (parent, grand))


def test_two_levels_with_an_unpayable_grandparent() -> None:
    leaves = {A: 10_000, B: 5_001, C: 9}
    final, payout = apply_lineage(leaves, _terms())
    assert isinstance(payout, LineagePayout)
    assert payout.upstream == 1_000 + 500 + 0
    parent, grand = payout.levels
    assert (parent.received, parent.kept, grand.received, grand.kept) == (1_500, 1_350, 150, 150)
    assert parent.paid == {P1: 810, P2: 540} and grand.paid == {}
    assert final == {A: 9_000, B: 4_501, C: 9, P1: 810, P2: 540}
    assert payout.dust == 150  # the grandparent's share: stays in the derived model's pool
    assert sum(final.values()) + payout.dust == sum(leaves.values())
    assert LineagePayout.from_dict(payout.to_dict()) == payout


def test_no_ancestors_or_zero_share_changes_nothing() -> None:
    leaves = {A: 10, B: 20}
    assert apply_lineage(leaves, None) == (leaves, None)
    final, payout = apply_lineage(leaves, _terms(bps=0))
    assert final == leaves and payout is not None and payout.upstream == 0


def test_the_child_always_keeps_its_share() -> None:
    rng = random.Random(3)
    for _ in range(300):
        bps = rng.randint(0, 5_000)
        leaves = {f"0x{i:040x}": rng.randint(0, 10**21) for i in range(10, 10 + rng.randint(1, 6))}
        final, payout = apply_lineage(leaves, _terms(bps))
        assert payout is not None
        for address, amount in leaves.items():
            assert final.get(address, 0) * 10_000 >= amount * (10_000 - bps)
        assert sum(final.values()) + payout.dust == sum(leaves.values())
        assert payout.upstream * 10_000 <= sum(leaves.values()) * bps


def test_one_address_in_two_spellings_is_one_row() -> None:
    """Review finding: weights keyed by an address in two spellings (lower-case and checksummed) were two
    rows, and `paid` kept only the last one's amount while the leaves added both: dust was misstated."""
    lower = "0x" + "ab" * 20
    checksummed = to_checksum_address(lower)
    parent = Ancestor(2, 5, "bafyparent", ((lower, 600_000), (checksummed, 400_000)))
    final, payout = apply_lineage({A: 100_000}, LineageTerms(99, 1_000, (parent,)))
    assert payout is not None and payout.upstream == 10_000
    assert final == {A: 90_000, checksummed: 10_000}
    assert payout.levels[0].paid == {checksummed: 10_000}
    assert payout.paid == 10_000 and payout.dust == 0
    assert sum(final.values()) + payout.dust == 100_000


def test_report_weights_sum_one_address_in_two_spellings(tmp_path) -> None:
    lower = "0x" + "cd" * 20
    checksummed = to_checksum_address(lower)
    store = LocalStore(tmp_path / "ipfs")
    rows = [{"key": lower, "weight": 0.6}, {"key": checksummed, "weight": 0.3}, {"key": A, "weight": 0.1}]
    cid = store.add(json.dumps({"model_level": {"contributors": rows}}).encode())
    clear_caches()
    assert report_weights(store, cid) == ((checksummed, 900_000), (A, 100_000))
