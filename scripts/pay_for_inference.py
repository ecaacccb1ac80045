"""`ape run pay_for_inference --model ID --requests N [--max-price OPEN] [--server URL --text T ...]`: pay
for N answers of a live model on-chain, at most --max-price per request (default: the price read just
before paying); with --text, ask the model's server and print each answer with its receipt (the payer
signs each request; the receipt is checked against the model's compute provider).

From `ape console`: `from scripts.pay_for_inference import pay, ask`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from scripts._openledger import account_options, client_for


def pay(client: Any, model_id: int, requests: int, max_price: int | None = None) -> int:
    """payForInference at most `max_price` wei per request (default: the price read just before paying),
    approving it first if needed; returns the payment id."""
    return int(client.vault.pay_for_inference(model_id, requests, max_price=max_price).created_id)


def ask(
    client: Any, model_id: int, payment_id: int, texts: list[str], server: str | None = None
) -> list[Any]:
    """Spend request 0.. of the payment on `texts`; returns the verified PaidAnswers."""
    from worker.serve.client import InferenceClient, server_url

    with InferenceClient(client, server or server_url(client, model_id)) as user:
        return [user.predict(model_id, text, payment_id, index) for index, text in enumerate(texts)]


@click.command(cls=ConnectedProviderCommand, short_help="Pay for inference (and ask the model)")
@click.option("--model", "model_id", type=int, required=True)
@click.option("--requests", type=int, default=None, help="Requests to pay for (default: one per --text)")
@click.option("--max-price", default=None, help="Most OPEN per request, e.g. 2.5 (default: current price)")
@click.option("--text", "texts", multiple=True, help="Text to ask the model (repeat)")
@click.option("--server", default=None, help="Server URL (default: the compute provider's endpoint)")
@account_options
def cli(provider, model_id, requests, max_price, texts, server, account, test_account):
    client = client_for(provider, account, test_account)
    count = requests or len(texts)
    if count < 1:
        raise click.UsageError("give --requests N or at least one --text")
    limit = int(Decimal(max_price) * 10**18) if max_price is not None else None
    payment_id = pay(client, model_id, count, limit)
    amount = client.vault.get_payment(payment_id).amount
    click.echo(f"payment {payment_id}: {count} request(s) of model {model_id} for {amount / 10**18:g} OPEN")
    for answer in ask(client, model_id, payment_id, list(texts), server) if texts else []:
        receipt = answer.receipt
        click.echo(
            f"  {answer.output} (receipt signed by {receipt.signer}, contributors {receipt.contributors})"
        )
