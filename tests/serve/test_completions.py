"""OpenAI-compatible completions of a live language model, with receipts and exact-span evidence."""

from __future__ import annotations

import pytest
from paidmodel import WORKER

from worker.serve import InferenceFailed


def test_completion_comes_with_a_receipt_and_span_evidence(lm_serving) -> None:
    live, user = lm_serving.live, lm_serving.user()
    payment = user.pay(live.model_id, 2).created_id
    answer = user.complete(live.model_id, "question 3:", payment, 0, max_tokens=8)
    response = answer.response
    assert response["object"] == "text_completion" and response["model"] == str(live.model_id)
    assert response["choices"][0]["text"] == answer.output["text"]
    assert response["choices"][0]["finish_reason"] in ("stop", "length")
    assert answer.receipt.signer == live.client(WORKER).address
    assert "spans" in answer.receipt.evidence and sum(answer.receipt.weights_ppm) == 1_000_000
    # span evidence points at the training record and its on-chain contributor
    served = lm_serving.service.catalog.get(live.model_id)
    spans = served.spans.find("so the answer is good great happy love")
    assert spans[0]["text"] == "the answer is good great happy love"
    assert spans[0]["contributor"] in live.contributor_addresses and spans[0]["contribution"].isdigit()


def test_completion_requests_are_checked(lm_serving) -> None:
    live, user = lm_serving.live, lm_serving.user()
    payment = user.pay(live.model_id, 1).created_id
    with pytest.raises(InferenceFailed, match="max_tokens is 500; at most 64") as caught:
        user.complete(live.model_id, "question 1:", payment, 0, max_tokens=500)
    assert caught.value.status == 413
    with pytest.raises(InferenceFailed, match="language model: use POST /v1/completions"):
        user.predict(live.model_id, "hello", payment, 0)
    assert user.complete(live.model_id, "question 1:", payment, 0, max_tokens=4).receipt.request_index == 0


def test_a_language_model_is_listed_as_generation(lm_serving) -> None:
    """`openledger infer` picks /v1/completions from this field: a null task would send it to predict."""
    [listed] = lm_serving.user().models()
    assert listed["task"] == "generation"
