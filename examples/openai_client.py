"""Ask an OpenLedger language model with the official `openai` client: pay once on-chain, then sign each
request the client sends, and check each answer's receipt.

    OPENLEDGER_PRIVATE_KEY=0x... python examples/openai_client.py MODEL_ID "question 3:" "question 4:"
    ... --stream        the text as it is generated (server-sent events), the receipt as the last event
    ... --server URL    another server than the model's registered endpoint

The openai client knows nothing about payments, so it is given an `httpx.Client` whose request hook
(`PaidRequests`) adds the X-OpenLedger-* headers: the payer's EIP-712 signature over the exact bytes of the
body the client is about to send, as the next unused unit of one `payForInference` payment. The server
answers OpenAI's chat.completion (or chunks) plus our `output` and signed `receipt`, which openai's
models keep as extra fields (`model_extra`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

from worker.billing.authorization import request_domain, sign_request
from worker.billing.receipts import Receipt
from worker.chain.client import ChainClient
from worker.serve import InferenceClient, server_url


@dataclass
class PaidRequests:
    """An httpx request hook: signs every request as the next unit of payment `payment_id`."""

    client: ChainClient
    model_id: int
    payment_id: int
    next_index: int = 0
    signed: list[tuple[int, bytes]] = field(default_factory=list)  # (index, body) of each request sent

    def __call__(self, request: httpx.Request) -> None:
        body = request.read()  # the exact bytes that go on the wire: the signature is over their hash
        domain = request_domain(self.client.sender.chain_id, self.client.vault.address)
        index = self.next_index
        headers = sign_request(self.client.signer, domain, self.model_id, self.payment_id, index, body)
        request.headers.update(headers)
        self.signed.append((index, body))
        self.next_index += 1


def openai_client(server: str, paid: PaidRequests) -> openai.OpenAI:
    """An openai client for `server` whose every request spends one unit of `paid`'s payment. Its own
    retries are off: a retried request would be signed as the next unit, not as the one that failed."""
    http = httpx.Client(event_hooks={"request": [paid]}, timeout=120.0, trust_env=False)
    # The server does not read the API key (payments authorize requests); openai insists on one. openai 3
    # types `http_client` as its own httpx2 fork, and takes an httpx.Client as well.
    return openai.OpenAI(
        base_url=f"{server}/v1", api_key="openledger", http_client=http, max_retries=0  # type: ignore[arg-type]
    )


def ask(chat: openai.OpenAI, model_id: int, prompt: str, stream: bool) -> dict[str, Any]:
    """One chat answer as JSON (with `output` and `receipt`), printed as it comes when streamed."""
    messages: list[Any] = [{"role": "user", "content": prompt}]
    if not stream:
        answer = chat.chat.completions.create(model=str(model_id), messages=messages, max_tokens=16)
        print(answer.choices[0].message.content)
        return answer.model_dump()
    last: dict[str, Any] = {}
    for chunk in chat.chat.completions.create(
        model=str(model_id), messages=messages, max_tokens=16, stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
        if (chunk.model_extra or {}).get("receipt"):
            last = chunk.model_dump()  # the last event: the whole output and its signed receipt
    print()
    return last


def run(client: ChainClient, model_id: int, prompts: list[str], server: str, stream: bool) -> list[Receipt]:
    """Pay for len(prompts) answers, ask each through the openai client, verify each receipt."""
    with InferenceClient(client, server) as user:
        payment = int(user.pay(model_id, len(prompts)).created_id or 0)  # payForInference, once
        paid = PaidRequests(client, model_id, payment)
        receipts = []
        with openai_client(server, paid) as chat:
            for prompt in prompts:
                data = ask(chat, model_id, prompt, stream)
                index, body = paid.signed[-1]
                # signed by the model's compute provider, for this payment unit, body and output
                receipts.append(user.verify(model_id, data, body, payment, index))
        return receipts


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_id", type=int)
    parser.add_argument("prompts", nargs="+")
    parser.add_argument("--server")
    parser.add_argument("--stream", action="store_true")
    args = parser.parse_args(argv)
    client = ChainClient.connect()  # the account from $OPENLEDGER_PRIVATE_KEY or the configured keystore
    server = args.server or server_url(client, args.model_id)
    for receipt in run(client, args.model_id, args.prompts, server, args.stream):
        print(f"receipt: payment {receipt.payment_id} request {receipt.request_index}, verified")


if __name__ == "__main__":
    main(sys.argv[1:])
