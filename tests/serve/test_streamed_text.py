"""Streamed text (worker/serve/decoding.py) and chat prompts (worker/serve/chat.py), without a server: the
pieces of a stream concatenate to exactly the decoding of all its tokens, where decoding a prefix of the
tokens is not a prefix of that text."""

from __future__ import annotations

import pytest
import torch

from worker.serve.chat import chat_prompt, plain_transcript
from worker.serve.decoding import TextDeltas, stable_part
from worker.serve.errors import InvalidRequest
from worker.train.catalogue import resolve_base_model


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(resolve_base_model("minilm").directory))


def _stream(tokenizer, ids: list[int]) -> tuple[list[str], str]:
    pieces: list[str] = []
    deltas = TextDeltas(tokenizer, pieces.append)
    deltas.put(torch.tensor([[101, 102]]))  # the prompt, handed over first by generate()
    for token in ids:
        deltas.put(torch.tensor([token]))
    eos = tokenizer.eos_token_id
    stop = ids.index(eos) if eos in ids else len(ids)
    text = tokenizer.decode(ids[:stop], skip_special_tokens=True)
    deltas.finish(text)
    return pieces, text


@pytest.mark.parametrize(
    "sentence",
    [
        "the flight was late , but the crew was great .",
        "it ' s fine , don ' t worry : we ' re here !",
        "unbelievably tokenizable wordpieces arrive",  # word pieces (##) joining the last word
        "a b ' c d",
    ],
)
def test_pieces_concatenate_to_the_whole_decoding(tokenizer, sentence) -> None:
    ids = tokenizer(sentence, add_special_tokens=False)["input_ids"]
    pieces, text = _stream(tokenizer, ids)
    assert "".join(pieces) == text and len(pieces) > 1


def test_the_stream_ends_where_the_answer_does(tokenizer) -> None:
    """Tokens after EOS are not part of the answer (the unstreamed one is cut there too)."""
    tokenizer = type(tokenizer).from_pretrained(tokenizer.name_or_path)
    tokenizer.eos_token = "[SEP]"
    ids = tokenizer("good great happy", add_special_tokens=False)["input_ids"]
    pieces, text = _stream(tokenizer, [*ids, tokenizer.eos_token_id, *ids])
    assert "".join(pieces) == text == "good great happy"


def test_only_whole_words_are_sent_before_the_end() -> None:
    assert stable_part("the answer is go") == "the answer is"
    assert stable_part("the answer ") == "the answer"
    assert stable_part("single") == ""


def test_chat_prompt_plain_and_templated(tokenizer) -> None:
    messages = [{"role": "user", "content": "question 3:"}]
    assert chat_prompt(tokenizer, messages) == plain_transcript(messages) == "user: question 3:\nassistant:"
    templated = type(tokenizer).from_pretrained(tokenizer.name_or_path)
    templated.bos_token = "[CLS]"
    templated.chat_template = (
        "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}[assistant]{% endif %}"
    )
    # the template's BOS is dropped: the completion path puts BOS before every prompt itself
    assert chat_prompt(templated, messages) == "[user] question 3: [assistant]"
    templated.chat_template = "{{ raise_exception('roles must alternate') }}"
    with pytest.raises(InvalidRequest, match="chat template refuses these messages: roles must alternate"):
        chat_prompt(templated, messages)
