"""Chat completions and streamed answers of a live language model, paid and receipted like completions:
a chat answer is the completion of its templated prompt, a stream concatenates to the unstreamed answer
and ends with its committed receipt, a client that leaves mid-stream recovers the answer, and the official
openai client (examples/openai_client.py) pays, signs and verifies."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from paidmodel import USER

from worker.billing.authorization import sign_request
from worker.canonical import canonical_json
from worker.errors import OpenLedgerError
from worker.serve import InferenceFailed
from worker.serve.chat import plain_transcript

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "openai_client.py"
CHAT = [{"role": "system", "content": "answer briefly"}, {"role": "user", "content": "question 3:"}]
# A template of the ChatML kind (SmolLM2's shape), set on the served tokenizer for the templated case
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _sse(response: httpx.Response) -> list[str]:
    """The data of each server-sent event, in order."""
    return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]


def _signed(user, model_id: int, payment: int, index: int, payload: dict) -> tuple[bytes, dict[str, str]]:
    body = canonical_json(payload)
    headers = sign_request(user.client.signer, user.request_domain, model_id, payment, index, body)
    return body, {**headers, "content-type": "application/json"}


def test_chat_answer_is_the_completion_of_the_chat_prompt(lm_serving) -> None:
    live, user = lm_serving.live, lm_serving.user()
    served = lm_serving.service.catalog.get(live.model_id)
    tokenizer = served.analyzer.loaded.tokenizer
    assert not tokenizer.chat_template  # the tiny model's base has none: the plain transcript
    payment = user.pay(live.model_id, 4).created_id
    chat = user.chat(live.model_id, CHAT, payment, 0, max_tokens=8)
    completion = user.complete(live.model_id, plain_transcript(CHAT), payment, 1, max_tokens=8)
    assert chat.output == completion.output
    assert chat.receipt.output_hash == completion.receipt.output_hash
    assert chat.receipt.request_hash != completion.receipt.request_hash  # each over its own body
    response = chat.response
    assert response["object"] == "chat.completion" and response["id"] == f"chatcmpl-{payment}-0"
    assert response["choices"][0]["message"] == {"role": "assistant", "content": chat.output["text"]}

    tokenizer.chat_template = CHATML
    try:
        prompt = served.chat_prompt(CHAT)
        assert prompt.startswith("<|im_start|>system\nanswer briefly<|im_end|>")
        assert prompt.endswith("<|im_start|>assistant\n")
        templated = user.chat(live.model_id, CHAT, payment, 2, max_tokens=8)
        assert templated.output == user.complete(live.model_id, prompt, payment, 3, max_tokens=8).output
    finally:
        tokenizer.chat_template = None


def test_stream_concatenates_to_the_answer_and_ends_with_its_receipt(lm_serving) -> None:
    live, user = lm_serving.live, lm_serving.user()
    payment = user.pay(live.model_id, 4).created_id
    whole = user.complete(live.model_id, "question 3:", payment, 0, max_tokens=16)
    stream = user.stream_complete(live.model_id, "question 3:", payment, 1, max_tokens=16)
    pieces = list(stream)
    assert stream.answer is not None and "".join(pieces) == whole.output["text"]
    assert stream.answer.output == whole.output and stream.answer.receipt.request_index == 1
    assert len(pieces) > 1  # the text arrived as it was generated, not at once

    chat_whole = user.chat(live.model_id, CHAT, payment, 2, max_tokens=16)
    body, headers = _signed(
        user, live.model_id, payment, 3,
        {"model": str(live.model_id), "messages": CHAT, "max_tokens": 16, "stream": True},
    )
    with user.http.stream("POST", "/v1/chat/completions", content=body, headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == f"chatcmpl-{payment}-3" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    last = chunks[-1]
    assert text == last["output"]["text"] == chat_whole.output["text"]
    assert last["choices"][0]["finish_reason"] == chat_whole.output["finish_reason"]
    receipt = user.verify(live.model_id, last, body, payment, 3)  # over the exact body, this output
    assert lm_serving.receipts.find(payment, 3) == receipt  # stored as every receipt is

    # the unit is spent: the same signed request again is refused, as JSON, before any stream
    replay = user.http.post("/v1/chat/completions", content=body, headers=headers)
    assert replay.status_code == 402 and replay.json()["error"]["code"] == "payment_replayed"


def test_refusals_come_before_the_stream_as_json(lm_serving) -> None:
    live, user = lm_serving.live, lm_serving.user()
    payload = {"model": str(live.model_id), "prompt": "question 1:", "stream": True}
    unpaid = user.http.post("/v1/completions", json=payload)
    assert unpaid.status_code == 402 and unpaid.json()["error"]["code"] == "payment_missing"
    payment = user.pay(live.model_id, 1).created_id
    body, headers = _signed(user, live.model_id, payment, 0, {**payload, "max_tokens": 500})
    too_long = user.http.post("/v1/completions", content=body, headers=headers)
    assert too_long.status_code == 413 and too_long.headers["content-type"] == "application/json"
    bad_role = {"model": str(live.model_id), "messages": [{"role": "tool", "content": "x"}], "stream": True}
    body, headers = _signed(user, live.model_id, payment, 0, bad_role)
    refused = user.http.post("/v1/chat/completions", content=body, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_request"
    assert lm_serving.receipts.count() == 0


def test_a_client_gone_mid_stream_loses_nothing(lm_serving) -> None:
    live, user = lm_serving.live, lm_serving.user()
    served = lm_serving.service.catalog.get(live.model_id)
    payment = user.pay(live.model_id, 2).created_id
    expected = user.chat(live.model_id, CHAT, payment, 0, max_tokens=12).output
    # the answer is held back until the client has gone, so it is certainly computed after the disconnect
    left, complete = threading.Event(), served.complete

    def after_the_client_left(*args, **kwargs):
        assert left.wait(30)
        return complete(*args, **kwargs)

    served.complete = after_the_client_left
    try:
        body, headers = _signed(
            user, live.model_id, payment, 1,
            {"model": str(live.model_id), "messages": CHAT, "max_tokens": 12, "stream": True},
        )
        with user.http.stream("POST", "/v1/chat/completions", content=body, headers=headers) as response:
            first = next(response.iter_lines())  # the assistant's role: the stream began
            assert first.startswith("data: ") and json.loads(first[6:])["choices"][0]["delta"]["role"]
        left.set()  # the connection is closed
        deadline = time.monotonic() + 30
        while lm_serving.receipts.find(payment, 1) is None:
            assert time.monotonic() < deadline, "the answer of the abandoned stream was never receipted"
            time.sleep(0.05)
    finally:
        left.set()
        del served.complete
    recovered = user.recover(live.model_id, payment, 1, body)  # receipt checked against the body too
    assert recovered.output == expected and recovered.receipt.request_index == 1
    with pytest.raises(InferenceFailed) as replayed:
        user.stream_chat(live.model_id, CHAT, payment, 1, max_tokens=12).collect()
    assert replayed.value.status == 402 and replayed.value.code == "payment_replayed"


def _example():
    spec = importlib.util.spec_from_file_location("examples_openai_client", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_the_openai_client_example_pays_signs_and_verifies(lm_serving, stream, capsys) -> None:
    live = lm_serving.live
    prompts, server = ["question 3:", "question 4:"], lm_serving.server.url
    receipts = _example().run(live.client(USER), live.model_id, prompts, server, stream)
    assert [r.request_index for r in receipts] == [0, 1] and len({r.payment_id for r in receipts}) == 1
    printed = capsys.readouterr().out.splitlines()
    for receipt, line in zip(receipts, printed, strict=False):
        stored = lm_serving.receipts.answer(receipt.payment_id, receipt.request_index)
        assert line == stored["text"]  # what the openai client printed is the receipted answer


def test_a_failure_after_the_stream_began_ends_it_with_an_error_and_spends_nothing(lm_serving) -> None:
    live, user, receipts = lm_serving.live, lm_serving.user(), lm_serving.receipts
    payment = user.pay(live.model_id, 1).created_id

    def database_down(*args, **kwargs):
        raise OpenLedgerError("the receipt database is unreachable")

    receipts.record = database_down
    try:
        stream = user.stream_complete(live.model_id, "question 2:", payment, 0, max_tokens=8)
        with pytest.raises(InferenceFailed, match="receipt database is unreachable") as failed:
            stream.collect()
        assert failed.value.code == "backend_unavailable" and stream.answer is None
    finally:
        del receipts.record
    assert receipts.find(payment, 0) is None  # released, not spent: the same unit answers now
    assert user.stream_complete(live.model_id, "question 2:", payment, 0, max_tokens=8).collect().output
