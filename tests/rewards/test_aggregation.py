"""Receipts -> amounts -> report, without a chain: integer splits, determinism, round trips."""

from __future__ import annotations

import random

import pytest
from receiptfactory import VAULT, make_receipt

from worker.billing import Receipt
from worker.chain.accounts import dev_signer
from worker.merkle import CLAIM_LEAF, StandardMerkleTree
from worker.rewards import EpochReport, PaymentTerms, RewardsError, build_report
from worker.rewards.aggregation import epoch_amounts, receipt_amounts
from worker.units import PPM

A, B, C = (dev_signer(i).address for i in (3, 4, 5))


def receipt(payment: int, index: int, weights: dict[str, int]) -> Receipt:
    return make_receipt(payment, index, weights)


def test_a_receipt_splits_its_unit_value_by_weight_flooring_each_share() -> None:
    r = receipt(1, 0, {A: 700_000, B: 299_999, C: 1})
    assert receipt_amounts(r, 10**18) == {A: 7 * 10**17, B: 299_999 * 10**12, C: 10**12}
    assert receipt_amounts(r, 3) == {A: 2}  # shares under one wei stay in the pool


def test_epoch_amounts_are_sums_over_receipts_and_never_exceed_what_was_paid() -> None:
    receipts = [receipt(1, i, {A: 500_000, B: 500_000}) for i in range(3)] + [receipt(2, 0, {C: PPM})]
    units = {1: 333, 2: 10**18}
    amounts = epoch_amounts(receipts, units)
    assert amounts == {A: 3 * 166, B: 3 * 166, C: 10**18}
    assert sum(amounts.values()) <= 3 * 333 + 10**18


def test_the_report_is_the_same_bytes_whatever_the_receipt_order() -> None:
    receipts = [receipt(p, i, {A: 400_000, B: 600_000}) for p in (1, 2) for i in range(3)]
    terms = {1: PaymentTerms(1, A, 3, 3 * 10**18), 2: PaymentTerms(2, B, 5, 5 * 10**18)}
    first = build_report(31337, VAULT, 1, 0, dev_signer(8).address, receipts, terms)
    shuffled = receipts[:]
    random.Random(1).shuffle(shuffled)
    second = build_report(31337, VAULT, 1, 0, dev_signer(8).address, shuffled, terms)
    assert first.to_bytes() == second.to_bytes()
    parsed = EpochReport.from_bytes(first.to_bytes())
    assert parsed == first and parsed.root == first.root
    for index, (account, amount) in enumerate(first.amounts.items()):
        leaf, proof = first.claim_of(account)
        assert (leaf.index, leaf.amount) == (index, amount)  # leaf i pays the i-th address in sorted order
        assert StandardMerkleTree.verify_proof(first.root, CLAIM_LEAF, [index, account, amount], proof)


def test_reports_refuse_missing_payments_and_garbage() -> None:
    with pytest.raises(RewardsError, match="no payment terms for payment"):
        build_report(31337, VAULT, 1, 0, A, [receipt(7, 0, {A: PPM})], {})
    with pytest.raises(RewardsError, match="not an epoch report"):
        EpochReport.from_bytes(b'{"format": "something else"}')
    with pytest.raises(RewardsError, match="malformed epoch report"):
        EpochReport.from_bytes(b"\xff\xfe")
