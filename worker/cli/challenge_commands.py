"""`openledger challenge job ID` and `openledger challenge epoch MODEL EPOCH`: dispute posted work after
`openledger verify` found it wrong. The reason (and optional evidence, e.g. `verify ... --json` output) is
uploaded as a JSON document whose CID goes on-chain; the challenge bond is approved and escrowed.
Everything the contract would refuse is said before any gas is spent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.cli_output import emit_json, literal_errors, open_amount, say, when
from worker.cli.options import (
    ApeAccountOption,
    DevAccountOption,
    JsonOption,
    KeystoreOption,
    RpcOption,
    wallet_client,
)

if TYPE_CHECKING:
    from worker.chain.client import ChainClient
    from worker.jobs.challenges import Challenge

challenge_app = typer.Typer(
    name="challenge",
    help="Dispute a posted training result or epoch root (after `openledger verify`), with a bond.",
    no_args_is_help=True,
)
ReasonOption = Annotated[str, typer.Option(help="Why the posted work is wrong (stored on content storage)")]
EvidenceOption = Annotated[
    Path | None, typer.Option(help="JSON file attached to the reason, e.g. the output of `verify --json`")
]


def _evidence(path: Path | None) -> Any:
    from worker.errors import OpenLedgerError

    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OpenLedgerError(
            f"--evidence {path}: not a readable JSON file ({exc}); nothing was sent"
        ) from exc


def _report(client: ChainClient, what: str, challenge: Challenge, as_json: bool, **ids: int) -> None:
    if as_json:
        emit_json(
            {
                **ids,
                "challenger": client.address,
                "bond": str(challenge.bond),
                "reason_cid": challenge.reason_cid,
                "ruling_deadline": challenge.ruling_deadline,
                "tx_hash": challenge.tx.tx_hash,
            }
        )
        return
    now = client.latest_timestamp()
    say(f"{what} challenged ({open_amount(challenge.bond)} bond escrowed)", "green")
    say(f"  reason {challenge.reason_cid}")
    say(
        f"  governance rules by {when(challenge.ruling_deadline, now)}; unruled by then, anyone may lapse "
        "it and your bond comes back; upheld, you get the bond back plus a share of the slashed stake "
        "(`openledger withdraw`)"
    )


@challenge_app.command("job")
@literal_errors
def job_command(
    job_id: Annotated[int, typer.Argument(help="Training job whose submitted result is wrong")],
    reason: ReasonOption,
    evidence: EvidenceOption = None,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    ape_account: ApeAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Challenge job JOB_ID's submitted result within its challenge window (ModelRegistry.challengeResult),
    escrowing the challenge bond. Run `openledger verify job JOB_ID` first."""
    from worker.jobs.challenges import challenge_job
    from worker.storage import open_store

    attached = _evidence(evidence)
    client = wallet_client(rpc, keystore, dev_account, ape_account)
    challenge = challenge_job(client, open_store(), job_id, reason, attached)
    _report(client, f"job {job_id}'s result", challenge, as_json, job_id=job_id)


@challenge_app.command("epoch")
@literal_errors
def epoch_command(
    model_id: Annotated[int, typer.Argument(help="On-chain model id")],
    epoch: Annotated[int, typer.Argument(help="Epoch number (0, 1, ...)")],
    reason: ReasonOption,
    evidence: EvidenceOption = None,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    ape_account: ApeAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Challenge the posted root of EPOCH of MODEL_ID within its challenge window
    (RewardVault.challengeEpoch), escrowing the epoch challenge bond. Run `openledger verify epoch` first."""
    from worker.jobs.challenges import challenge_epoch
    from worker.storage import open_store

    attached = _evidence(evidence)
    client = wallet_client(rpc, keystore, dev_account, ape_account)
    challenge = challenge_epoch(client, open_store(), model_id, epoch, reason, attached)
    _report(client, f"epoch {epoch} of model {model_id}", challenge, as_json, model_id=model_id, epoch=epoch)


def register(app: typer.Typer) -> None:
    app.add_typer(challenge_app)
