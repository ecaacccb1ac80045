"""`openledger job show ID`: a training job's state, its deadlines (as dates and relative to chain time),
its worker and its result; `job_view`/`print_timeline` are shared with `openledger model show`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.cli_output import emit_json, literal_errors, open_amount, say, when
from worker.cli.options import DevAccountOption, JsonOption, KeystoreOption, RpcOption

if TYPE_CHECKING:
    from worker.chain.client import ChainClient
    from worker.chain.types import Job

job_app = typer.Typer(
    name="job", help="Training jobs: state, deadlines, worker, result.", no_args_is_help=True
)


def job_view(client: ChainClient, job_id: int, job: Job | None = None) -> dict[str, Any]:
    """Everything `job show` prints (timestamps raw, for scripts; 0 means "not yet")."""
    from worker.chain.types import ZERO_ADDRESS, JobStatus

    job = job or client.models.require_job(job_id)
    params = client.models.params()
    submitted = job.result.submitted_at != 0
    return {
        "job_id": job_id,
        "model_id": job.model_id,
        "status": JobStatus(job.status).name.lower(),
        "requester": job.requester,
        "bounty": str(job.bounty),
        "worker": None if job.worker == ZERO_ADDRESS else job.worker,
        "locked_stake": str(job.locked_stake),
        "requested_at": job.requested_at,
        "claim_deadline": job.requested_at + params.job_deadline,
        "claimed_at": job.claimed_at,
        "lease_expires_at": job.lease_expires_at,
        "challenge_deadline": job.challenge_deadline,
        "dispute": {
            "challenger": job.dispute.challenger,
            "ruling_deadline": job.dispute.ruling_deadline,
            "bond": str(job.dispute.bond),
        }
        if job.dispute.open
        else None,
        "result": {
            "adapter_cid": job.result.adapter_cid,
            "metrics_cid": job.result.metrics_cid,
            "report_cid": job.result.report_cid,
            "attribution_root": "0x" + bytes(job.result.attribution_root).hex(),
            "submitted_at": job.result.submitted_at,
        }
        if submitted
        else None,
        "chain_time": client.latest_timestamp(),
    }


def print_timeline(view: dict[str, Any], indent: str = "  ") -> None:
    """The job's steps and deadlines, in order, each as a date and relative to chain time."""
    now, status = view["chain_time"], view["status"]
    say(
        f"{indent}requested {when(view['requested_at'], now)} by {view['requester']} "
        f"({open_amount(int(view['bounty']))} bounty)"
    )
    if status == "open":
        say(f"{indent}claimable until {when(view['claim_deadline'], now)}")
    if view["claimed_at"]:
        say(f"{indent}claimed {when(view['claimed_at'], now)} by {view['worker']}")
    if status == "claimed":
        say(f"{indent}lease until {when(view['lease_expires_at'], now)}")
    result = view["result"]
    if result:
        say(f"{indent}result submitted {when(result['submitted_at'], now)}")
        say(f"{indent}  adapter {result['adapter_cid']}, metrics {result['metrics_cid']}")
        say(f"{indent}  report {result['report_cid']}, attribution root {result['attribution_root']}")
    if status == "submitted":
        say(f"{indent}challenge window until {when(view['challenge_deadline'], now)}")
    if view["dispute"]:
        dispute = view["dispute"]
        say(
            f"{indent}challenged by {dispute['challenger']} ({open_amount(int(dispute['bond']))} bond); "
            f"governance rules until {when(dispute['ruling_deadline'], now)}"
        )


@job_app.command("show")
@literal_errors
def show_command(
    job_id: Annotated[int, typer.Argument(help="Training job id")],
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """A training job: its state, the deadlines that matter, its worker and its posted result."""
    from worker.cli.options import connect_client

    client = connect_client(rpc, None, None, signing=False)
    view = job_view(client, job_id)
    if as_json:
        emit_json(view)
        return
    worker = f", worker {view['worker']}" if view["worker"] else ""
    say(f"job {job_id} (model {view['model_id']}): {view['status']}{worker}", "bold")
    print_timeline(view)
    if view["status"] == "submitted" and view["chain_time"] > view["challenge_deadline"]:
        say(f"  window over: anyone may finalize it with `openledger job finalize {job_id}`")
    elif view["status"] == "submitted":
        say(
            f"  check it with `openledger verify job {job_id}`; dispute it with "
            f"`openledger challenge job {job_id}`"
        )
    elif view["status"] == "finalized" and client.models.get_model(view["model_id"]).live_job_id != job_id:
        say(f"  not live: its model's owner can make it so with `openledger model activate {job_id}`")


@job_app.command("finalize")
@literal_errors
def finalize_command(
    job_id: Annotated[int, typer.Argument(help="Training job whose challenge window is over")],
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Finalize job JOB_ID once its challenge window passed unchallenged (anyone may): the worker is
    credited its bounty and its stake unlocked, and a model with no live provider goes live on it."""
    from worker.chain.types import JobStatus
    from worker.cli.options import connect_client
    from worker.errors import ChainError

    client = connect_client(rpc, keystore, dev_account, signing=True)
    job = client.models.require_job(job_id)
    now = client.latest_timestamp()
    if job.status != JobStatus.SUBMITTED:
        raise ChainError(
            f"job {job_id} is {JobStatus(job.status).name.lower()}: only a submitted result whose window "
            "passed can be finalized; nothing was sent"
        )
    if now <= job.challenge_deadline:
        raise ChainError(
            f"job {job_id}'s challenge window is open until {when(job.challenge_deadline, now)}: "
            "finalize it after that; nothing was sent"
        )
    tx = client.models.finalize(job_id)
    live = tx.events_named("ModelLive")
    if as_json:
        emit_json({"job_id": job_id, "model_id": job.model_id, "live": bool(live), "tx_hash": tx.tx_hash})
        return
    say(f"job {job_id} finalized: {job.worker} credited {open_amount(job.bounty)}", "green")
    if live:
        say(f"  model {job.model_id} is live on it (adapter {live[0]['adapterCid']})")
    else:
        say(f"  model {job.model_id} keeps its live result until its owner runs `openledger model activate`")


def register(app: typer.Typer) -> None:
    app.add_typer(job_app)
