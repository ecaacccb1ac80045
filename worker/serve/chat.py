"""A chat turned into the prompt a language model completes: the base model's own chat template when its
tokenizer has one, else a plain transcript.

The plain form is one `role: content` line per message and a last `assistant:` line the answer follows:

    system: answer briefly
    user: question 3:
    assistant:

A chat answer is then exactly the completion of that prompt (`ServedModel.complete`), receipted the same
way; only the request body (hashed into the receipt) differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.serve.errors import InvalidRequest

ASSISTANT_CUE = "assistant:"


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def plain_transcript(messages: Sequence[dict[str, str]]) -> str:
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join([*lines, ASSISTANT_CUE])


def chat_prompt(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The text to complete for `messages`. A template's leading BOS token text is dropped, since the
    completion path puts BOS in front of every prompt (as training did) and it must not appear twice."""
    if not has_chat_template(tokenizer):
        return plain_transcript(messages)
    try:
        prompt = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # a template may refuse a conversation (e.g. roles that do not alternate)
        raise InvalidRequest(f"the model's chat template refuses these messages: {exc}") from None
    if not isinstance(prompt, str):
        raise InvalidRequest("the model's chat template did not produce a text prompt")
    bos = tokenizer.bos_token
    if bos and prompt.startswith(bos):
        prompt = prompt[len(bos) :]
    return prompt
