"""Generated tokens turned into text as they come, for streamed answers.

A streamed answer must concatenate to exactly the text of the same answer unstreamed, which is the
decoding of all its tokens at once. Decoding a prefix of the tokens is not always a prefix of that text:
a word piece still to come may join the last word (`##s`), a clean-up rule may remove the space before a
punctuation mark, a byte-level token may end inside a UTF-8 character. So the text is sent only up to the
last whitespace before the word being written (each step decodes all tokens so far and sends what it
added to that stable part), and the rest once the answer is complete.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from transformers.generation.streamers import BaseStreamer

log = logging.getLogger("openledger.serve")
_TAIL = re.compile(r"\s+\S*\Z")  # the last whitespace run and the word after it: may still change


def stable_part(text: str) -> str:
    tail = _TAIL.search(text)
    return text[: tail.start()] if tail else ""


class TextDeltas(BaseStreamer):
    """A `generate(streamer=...)` hook: `emit` gets each new piece of text, `finish` the rest."""

    def __init__(self, tokenizer: Any, emit: Callable[[str], None]):
        self.tokenizer, self.emit = tokenizer, emit
        self.tokens: list[int] = []
        self.sent = ""
        self._prompt_seen = self._stopped = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate() hands over the prompt's ids first
            self._prompt_seen = True
            return
        eos = self.tokenizer.eos_token_id
        for token in value.reshape(-1).tolist():
            if self._stopped or token == eos:  # the answer ends at EOS, as the unstreamed one is cut
                self._stopped = True
                return
            self.tokens.append(int(token))
        self._send(stable_part(self.tokenizer.decode(self.tokens, skip_special_tokens=True)))

    def end(self) -> None:
        """Nothing here: `finish` sends the rest once the whole answer's text is known."""

    def finish(self, text: str) -> None:
        """Send what `text`, the complete answer, has beyond what was sent."""
        if not text.startswith(self.sent):  # never seen with our tokenizers; the receipt's text rules
            log.warning("streamed text %r is not a prefix of the answer %r", self.sent, text)
            return
        self._send(text)

    def _send(self, text: str) -> None:
        if len(text) > len(self.sent) and text.startswith(self.sent):
            piece, self.sent = text[len(self.sent) :], text
            self.emit(piece)
