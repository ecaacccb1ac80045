"""`openledger serve` (the worker's paid inference API plus its epoch service) and `openledger infer` (a
user pays on-chain, calls the server, and gets answers with verified receipts).

Keys never travel on the command line: $OPENLEDGER_PRIVATE_KEY, a keystore (`--keystore`), an ape account
(`--ape-account ALIAS`, its keyfile under $APE_DATA_FOLDER or ~/.ape; passphrase from
$OPENLEDGER_KEYSTORE_PASSWORD or a prompt) or, on a local Anvil, `--dev-account N`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.cli_output import emit_json, literal_errors, open_amount, say, warn
from worker.cli.options import (
    ApeAccountOption,
    DevAccountOption,
    JsonOption,
    KeystoreOption,
    RpcOption,
    wallet_client,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from worker.chain.client import ChainClient
    from worker.rewards import EpochEvent
    from worker.serve import PaidAnswer


def _print_event(event: EpochEvent) -> None:
    tx = f" tx {event.tx.tx_hash} gas {event.tx.gas_used:,}" if event.tx else ""
    subject = "epoch service" if event.model_id < 0 else f"epoch {event.epoch} of model {event.model_id}"
    say(f"{subject}: {event.action} {event.detail}{tx}".rstrip())


def _query_mode(value: str | None) -> str | None:
    """Refuses a query mode the engine does not know, with the engine's own message."""
    from worker.errors import AttributionError
    from worker.serve import AnswerSettings

    try:
        AnswerSettings(query_checkpoints=value)
    except AttributionError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return value


@literal_errors
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    model: Annotated[
        list[int] | None,
        typer.Option(
            "--model",
            help="Serve only this model (repeat); default: every live "
            "model whose compute provider is your account",
        ),
    ] = None,
    epoch_seconds: Annotated[int, typer.Option(help="Length of a reward epoch, in chain seconds")] = 3600,
    epochs: Annotated[
        bool, typer.Option(help="Run the epoch service (close, post, finalize) in the background")
    ] = True,
    tick_seconds: Annotated[float, typer.Option(help="How often the epoch service looks")] = 30.0,
    lease_seconds: Annotated[
        float,
        typer.Option(
            help="Replicas on one --db: the epoch service of a replica that stopped renewing its lease "
            "this long is taken over by another"
        ),
    ] = 120.0,
    confirmations: Annotated[
        int | None,
        typer.Option(
            help="Blocks a payment needs before it is honoured; default: the chain's finality (1 on a local "
            "Anvil, the node's `finalized` block elsewhere)"
        ),
    ] = None,
    preload: Annotated[bool, typer.Option(help="Load the served models before listening")] = True,
    ip_rate: Annotated[
        float, typer.Option(help="Requests per second per client address (bursts of twice that; 0: no limit)")
    ] = 200.0,
    payer_rate: Annotated[
        float, typer.Option(help="Paid requests per second per payer (bursts of twice that; 0: no limit)")
    ] = 100.0,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="OPENLEDGER_DB",
            help="Receipt log: postgresql://user:pass@host/db to run replicas on one database, or a SQLite "
            "file; default: a SQLite file per deployment under the home folder",
        ),
    ] = None,
    explorer: Annotated[
        bool, typer.Option(help="Also serve the explorer (index, read API and pages) under /explorer")
    ] = False,
    device: Annotated[
        str, typer.Option(help="Where the models run: cpu, or cuda (refused when torch sees no GPU)")
    ] = "cpu",
    max_adapters: Annotated[
        int,
        typer.Option(
            min=1,
            help="Adapters kept loaded at once (least recently used out first, loaded again on demand); "
            "all adapters of one base model share one copy of it",
        ),
    ] = 64,
    query_checkpoints: Annotated[
        str | None,
        typer.Option(
            callback=_query_mode,
            help="Where each answer's attribution gradient is taken: all (every checkpoint, the engine's "
            "default, more accurate) or final (the final adapter: about half the attribution's cost)",
        ),
    ] = None,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    ape_account: ApeAccountOption = None,
) -> None:
    """Serve paid inference for your live models, with an attribution receipt on every answer, and pay
    their contributors per epoch (receipts aggregated, root posted, finalized after the window)."""
    from worker.billing import ReceiptLog
    from worker.billing.limits import RateLimit
    from worker.config import load_settings
    from worker.rewards import EpochService, run_in_background
    from worker.serve import AnswerSettings, InferenceService, ServeConfig, create_app, serve_forever
    from worker.storage import open_store

    torch_device = _serving_device(device)  # before any key, chain or model work
    client = wallet_client(rpc, keystore, dev_account, ape_account)
    store, home = open_store(), load_settings().home
    receipts = ReceiptLog.for_deployment(client.deployment, home, db)
    config = ServeConfig(
        confirmations=confirmations,
        ip_limit=RateLimit(ip_rate, max(1, int(2 * ip_rate))),
        payer_limit=RateLimit(payer_rate, max(1, int(2 * payer_rate))),
        max_adapters=max_adapters,
        answers=AnswerSettings(query_checkpoints=query_checkpoints),
    )
    service = InferenceService(
        client, store, receipts, home / "models", config, set(model) if model else None, torch_device
    )
    served = service.catalog.preload() if preload else sorted(model or [])
    if not served:
        warn(f"no live model has {client.address} as its compute provider: nothing to answer yet")
    say(f"serving models {served} on http://{host}:{port} as {client.address} ({client.signer.source})")
    say(f"models run on {torch_device}, at most {max_adapters} adapters loaded at once")
    say(f"receipts in {receipts.location}")
    say(f"payments are honoured once final: {service.payments.finality.describe()}")
    stop = threading.Event()
    epoch_service = None
    if epochs:
        watched = served if preload else (sorted(model) if model else None)
        epoch_service = EpochService(
            client, store, receipts, epoch_seconds, models=watched, payments=service.payments,
            lease_seconds=lease_seconds,
        )
        run_in_background(epoch_service, tick_seconds, stop, on_event=_print_event)
        say(f"epoch service: epochs of {epoch_seconds} s, checked every {tick_seconds:g} s")
    app = create_app(service)
    if explorer:
        _mount_explorer(app, client, host, port)
    try:
        serve_forever(app, host, port)
    finally:
        stop.set()
        if epoch_service is not None:
            epoch_service.release()  # another replica's epoch service takes over at once


def _serving_device(device: str) -> str:
    """`--device`, checked: an explicit choice, never a silent fallback from the GPU to the CPU."""
    from worker.errors import OpenLedgerError

    if device not in ("cpu", "cuda"):
        raise OpenLedgerError(f"--device must be cpu or cuda, not {device!r}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise OpenLedgerError(
                f"--device cuda: torch {torch.__version__} sees no CUDA GPU (a CPU-only build, or no "
                "driver); serve with --device cpu, or install a CUDA build of torch on a machine with a GPU"
            )
    return device


def _mount_explorer(app: FastAPI, client: ChainClient, host: str, port: int) -> None:
    """The explorer under /explorer, reading as nobody (its actions are signed in the browser) and sending
    the pages' paid requests to this server."""
    from worker.chain.accounts import ReadOnlySigner
    from worker.cli.explorer_commands import open_explorer
    from worker.explorer import mount_explorer
    from worker.serve.client import local_url

    url = local_url(host, port)
    explorer = open_explorer(client.as_account(ReadOnlySigner()), None, url)
    mount_explorer(app, explorer)
    say(f"explorer on {url}/explorer/ (index {explorer.db.path})")


def _endpoint(server_models: list[dict[str, Any]], model_id: int, url: str, chat: bool | None) -> str:
    """How to ask the model, "predict", "complete" or "chat", from its listing (task and chat template)
    and `--chat/--no-chat` (default: chat for a language model whose base has a chat template). An
    error, before anything is paid, if the server does not answer for the model or `--chat` cannot
    apply."""
    from worker.errors import OpenLedgerError

    task = _task(server_models, model_id, url)
    if task != "generation":
        if chat:
            raise OpenLedgerError(f"--chat: model {model_id} is a classifier, not a language model")
        return "predict"
    listed = next(m for m in server_models if m.get("id") == str(model_id))
    use_chat = bool(listed.get("chat_template")) if chat is None else chat
    return "chat" if use_chat else "complete"


def _task(server_models: list[dict[str, Any]], model_id: int, url: str) -> str:
    """The model's task, as the server lists it; an error (before anything is paid) if it does not
    answer for the model."""
    from worker.errors import OpenLedgerError

    listed = next((m for m in server_models if m.get("id") == str(model_id)), None)
    if listed is None or listed.get("served_here") is False:
        raise OpenLedgerError(
            f"the server at {url} does not answer for model {model_id} (is it live, and is this its "
            "compute provider's server?); nothing was paid"
        )
    return str(listed.get("task") or "classification")


def _free_indexes(user: Any, payment_id: int, needed: int) -> list[int]:
    from worker.errors import OpenLedgerError

    state = user.payment(payment_id)
    free = [i for i in range(state["requestCount"]) if i not in set(state["used"])]
    if len(free) < needed:
        raise OpenLedgerError(
            f"payment {payment_id} has {len(free)} unused request(s) left, {needed} needed: pay again "
            "(leave out --payment)"
        )
    return free[:needed]


def _pay(user: Any, model_id: int, count: int, max_price: int | None, quiet: bool) -> int:
    """payForInference at most `max_price` per request (default: the price read now); the payment id."""
    from worker.chain.reverts import TransactionReverted
    from worker.errors import OpenLedgerError

    try:
        paid = user.pay(model_id, count, max_price=max_price)
    except TransactionReverted as exc:
        if exc.error_name != "PriceAboveMaximum":
            raise
        raise OpenLedgerError(
            f"model {model_id} now costs {open_amount(exc.args['price'])} per request, above the "
            f"{open_amount(exc.args['maxPrice'])} you accept: nothing was paid (raise --max-price to pay it)"
        ) from None
    amount, payment = int(paid.event("InferencePaid")["amount"]), int(paid.created_id or 0)
    if not quiet:
        say(f"paid {open_amount(amount)} for {count} request(s): payment {payment} (tx {paid.tx_hash})")
    return payment


def _show(answer: PaidAnswer, index: int) -> None:
    receipt, output = answer.receipt, answer.output
    what = output.get("label") or repr(output.get("text", ""))
    probabilities = output.get("probabilities")
    extra = " (" + ", ".join(f"{k} {v:.3f}" for k, v in probabilities.items()) + ")" if probabilities else ""
    say(f"[{index}] {what}{extra}", "bold")
    say(
        f"    receipt: payment {receipt.payment_id} request {receipt.request_index}, "
        f"signed by {receipt.signer} (verified), adapter {receipt.adapter_cid}"
    )
    weights = ", ".join(
        f"{c[:10]}… {w / 10_000:.1f}%" for c, w in zip(receipt.contributors, receipt.weights_ppm, strict=True)
    )
    say(f"    contributors ({receipt.basis} attribution): {weights or 'none'}")
    for row in receipt.evidence.get("top", [])[:3]:
        say(
            f"    evidence: record {row['record'][:12]}… of contribution {row['contribution']} "
            f"score {row['score']}"
        )
    for span in receipt.evidence.get("spans", [])[:3]:
        say(f"    span: {span['text']!r} from contribution {span['contribution']}")


@literal_errors
def infer_command(
    model_id: Annotated[int, typer.Argument(help="On-chain model id")],
    inputs: Annotated[
        list[str], typer.Argument(help="Text(s) to classify, or prompt(s) for a language model")
    ],
    payment: Annotated[
        int | None, typer.Option(help="Spend this earlier payment instead of paying now")
    ] = None,
    max_price: Annotated[
        str | None,
        typer.Option(
            help="Most OPEN paid per request (default: the price read just before paying); a price "
            "raised above it makes the payment revert instead of charging more"
        ),
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Completion length (language models)")] = 16,
    chat: Annotated[
        bool | None,
        typer.Option(
            "--chat/--no-chat",
            help="Language models: send each input as a user message to /v1/chat/completions, or as a "
            "plain prompt to /v1/completions; default: chat when the server lists a chat template for "
            "the model's base",
        ),
    ] = None,
    wait: Annotated[
        float, typer.Option(help="Wait up to this many seconds for the server to come up (before paying)")
    ] = 0.0,
    server: Annotated[
        str | None, typer.Option(help="Server URL (default: the compute provider's endpoint)")
    ] = None,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    ape_account: ApeAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pay for len(INPUTS) answers (payForInference), ask the model's server, print each answer with its
    attribution receipt (signature checked against the model's registered compute provider)."""
    from worker.cli.options import parse_open
    from worker.serve import InferenceClient, server_url

    client = wallet_client(rpc, keystore, dev_account, ape_account)
    url = server or server_url(client, model_id)
    limit = parse_open(max_price, "--max-price") if max_price is not None else None
    with InferenceClient(client, url) as user:
        if wait:
            user.wait_ready(wait)
        # the server answers for this model (and how to ask it): only then pay
        endpoint = _endpoint(user.models(), model_id, url, chat)
        if payment is None:
            payment = _pay(user, model_id, len(inputs), limit, as_json)
        indexes = _free_indexes(user, payment, len(inputs))
        answers = []
        for text, index in zip(inputs, indexes, strict=True):
            if endpoint == "chat":
                messages = [{"role": "user", "content": text}]
                answers.append(user.chat(model_id, messages, payment, index, max_tokens))
            elif endpoint == "complete":
                answers.append(user.complete(model_id, text, payment, index, max_tokens))
            else:
                answers.append(user.predict(model_id, text, payment, index))
            if not as_json:
                _show(answers[-1], index)
    if as_json:
        emit_json(
            [{"paymentId": payment, "output": a.output, "receipt": a.receipt.to_dict()} for a in answers]
        )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("infer")(infer_command)
