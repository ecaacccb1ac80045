"""Signed receipts without a server or a chain, for tests of what is done with them (aggregation, the
receipt log on each database)."""

from __future__ import annotations

from worker.billing import Receipt, ReceiptBody
from worker.billing.receipts import json_hash, receipt_domain, sign_receipt
from worker.chain.accounts import dev_signer

VAULT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DEFAULT_WEIGHTS = {dev_signer(3).address: 1_000_000}


def make_receipt(
    payment: int, index: int, weights: dict[str, int] | None = None, model_id: int = 1
) -> Receipt:
    evidence = {"top": [{"record": "ab" * 32, "score": "0.5"}]}
    weights = weights or DEFAULT_WEIGHTS
    body = ReceiptBody(
        model_id=model_id,
        adapter_cid="bafy",
        payment_id=payment,
        request_index=index,
        request_hash="0x" + "11" * 32,
        output_hash="0x" + "22" * 32,
        evidence_hash=json_hash(evidence),
        contributors=list(weights),
        weights_ppm=list(weights.values()),
        basis="answer",
        issued_at=1,
        evidence=evidence,
    )
    return sign_receipt(dev_signer(8), receipt_domain(31337, VAULT), body)
