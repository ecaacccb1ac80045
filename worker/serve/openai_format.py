"""The OpenAI wire format of our generation endpoints: the request bodies we accept and the answers and
stream chunks we send, each with our `output` (what the receipt's output hash covers) and `receipt`.

    POST /v1/completions        {"model", "prompt", "max_tokens", "stream"} -> text_completion
    POST /v1/chat/completions   {"model", "messages", "max_tokens", "stream"} -> chat.completion
    stream: true                server-sent `data: {chunk}` events; the last chunk carries `finish_reason`,
                                `output` and `receipt`, then `data: [DONE]`

Decoding is greedy whatever the body says about sampling: a paid answer must be reproducible, so
`temperature`, `top_p` and the like are accepted (the openai client sends them) and ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from worker.billing.receipts import Receipt

AnswerKind = Literal["completion", "chat"]


class GenerationRequest(BaseModel):
    """What both generation endpoints share."""

    model_config = ConfigDict(extra="ignore")
    model: str | int
    max_tokens: int = Field(default=16, ge=1)
    n: int = Field(default=1, ge=1, le=1)
    stream: bool = False
    temperature: float | None = None

    @property
    def token_limit(self) -> int:
        return self.max_tokens


class CompletionRequest(GenerationRequest):
    """The OpenAI completions body."""

    prompt: str = Field(min_length=1)


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]

    @property
    def text(self) -> str:
        """The content as one string (OpenAI also allows a list of text parts)."""
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


MAX_MESSAGES = 64


class ChatRequest(GenerationRequest):
    """The OpenAI chat completions body. `max_completion_tokens` (the newer name) wins over `max_tokens`."""

    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    max_completion_tokens: int | None = Field(default=None, ge=1)

    @property
    def token_limit(self) -> int:
        return self.max_completion_tokens or self.max_tokens

    def as_dicts(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.text} for m in self.messages]


@dataclass(frozen=True)
class AnswerFormat:
    """How one paid answer is written out: whole, or as stream chunks sharing its id and `created`."""

    kind: AnswerKind
    model_id: int
    payment_id: int
    index: int
    created: int

    @property
    def id(self) -> str:
        prefix = "chatcmpl" if self.kind == "chat" else "cmpl"
        return f"{prefix}-{self.payment_id}-{self.index}"

    def _head(self, object_name: str, created: int | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": object_name,
            "created": self.created if created is None else created,
            "model": str(self.model_id),
        }

    def whole(self, output: dict[str, Any], receipt: Receipt) -> dict[str, Any]:
        """The non-streamed answer (`created` is the receipt's time, as it always was)."""
        finish = output["finish_reason"]
        if self.kind == "chat":
            message = {"role": "assistant", "content": output["text"]}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            head = self._head("chat.completion", receipt.issued_at)
        else:
            choice = {"text": output["text"], "index": 0, "logprobs": None, "finish_reason": finish}
            head = self._head("text_completion", receipt.issued_at)
        return {**head, "choices": [choice], "output": output, "receipt": receipt.to_dict()}

    def _chunk(self, text: str | None, finish: str | None, role: bool = False) -> dict[str, Any]:
        if self.kind == "chat":
            delta: dict[str, Any] = {"role": "assistant"} if role else {}
            if text is not None:
                delta["content"] = text
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**self._head("chat.completion.chunk"), "choices": [choice]}
        choice = {"text": text or "", "index": 0, "logprobs": None, "finish_reason": finish}
        return {**self._head("text_completion"), "choices": [choice]}

    def opening(self) -> dict[str, Any] | None:
        """The chunk before any text: OpenAI's chat streams start with the assistant's role."""
        return self._chunk("", None, role=True) if self.kind == "chat" else None

    def delta(self, text: str) -> dict[str, Any]:
        return self._chunk(text, None)

    def closing(self, output: dict[str, Any], receipt: Receipt) -> dict[str, Any]:
        """The last chunk: no new text, the finish reason, the whole output and its signed receipt."""
        chunk = self._chunk(None if self.kind == "chat" else "", output["finish_reason"])
        return {**chunk, "output": output, "receipt": receipt.to_dict()}


def error_body(code: str, message: str) -> dict[str, Any]:
    """The project's error object (also what a stream sends when it fails after it began)."""
    return {"error": {"message": message, "type": code, "code": code}}


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event: `data: <compact JSON>` and a blank line (`[DONE]` is sent as it is)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"data: {text}\n\n".encode()


DONE = "[DONE]"
