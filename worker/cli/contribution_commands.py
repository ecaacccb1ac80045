"""`openledger contribute` and `openledger review`: a contributor's file in, a curator's verdict on it.

`contribute` spends nothing until the file is known good: every line is validated against the datanet's
schema and limits first (all bad lines listed, exit 1, nothing uploaded or sent), then duplicates of
already-accepted records are looked for, and only then is the file uploaded and the stake sent.
Registered by worker.cli.datanet_commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from worker.cli.cli_output import (
    byte_progress,
    emit_json,
    err_console,
    literal_errors,
    open_amount,
    say,
    warn,
)
from worker.cli.options import DevAccountOption, JsonOption, KeystoreOption, RpcOption, connect_client

if TYPE_CHECKING:
    from worker.datanet.contributing import DuplicateFinding, PreparedContribution

MAX_LISTED = 20


def _finding(f: DuplicateFinding) -> dict[str, Any]:
    return {
        "line": f.line,
        "kind": f.kind,
        "contribution_id": f.contribution_id,
        "matched_record": f.matched_record,
        "similarity": f.similarity,
    }


def _refuse(as_json: bool, payload: dict[str, Any], lines: list[str]) -> NoReturn:
    """Report why nothing was uploaded or sent, and exit 1."""
    if as_json:
        emit_json({"ok": False, **payload})
    else:
        for line in lines:
            err_console.print(line, markup=False)
    raise typer.Exit(code=1)


def _prepare(client: Any, store: Any, datanet_id: int, file: Path, as_json: bool) -> PreparedContribution:
    from worker.datanet.contributing import InvalidContributionError, check_submittable, prepare_contribution

    try:
        prepared = prepare_contribution(client, store, datanet_id, file)
    except InvalidContributionError as exc:
        report = exc.report
        _refuse(
            as_json,
            {"stage": "validation", "validation": report.to_dict()},
            [
                "error: " + report.render(max_errors=len(report.errors)),
                "nothing was uploaded or sent: fix the lines above and run again",
            ],
        )
    check_submittable(client, prepared)
    return prepared


def _duplicates(
    client: Any, store: Any, prepared: PreparedContribution, threshold: float, strict: bool, as_json: bool
) -> list[DuplicateFinding]:
    from worker.datanet.contributing import accepted_duplicate_index, find_duplicates

    findings = find_duplicates(
        accepted_duplicate_index(client, store, prepared.datanet_id, threshold), prepared
    )
    if not findings:
        return []
    summary = (
        f"{len(findings)} of {prepared.record_count} record(s) repeat records that datanet "
        f"{prepared.datanet_id} already accepted"
    )
    listed = [f"  {f.render()}" for f in findings[:MAX_LISTED]]
    if len(findings) > MAX_LISTED:
        listed.append(f"  ... and {len(findings) - MAX_LISTED} more")
    if strict:
        _refuse(
            as_json,
            {"stage": "duplicates", "duplicates": [_finding(f) for f in findings]},
            [f"error: {summary} (refused by --strict); nothing was uploaded or sent", *listed],
        )
    if not as_json:
        warn(f"{summary}; curators may reject the file and slash part of the stake")
        for line in listed:
            err_console.print(line, markup=False)
    return findings


@literal_errors
def contribute_command(
    datanet_id: Annotated[int, typer.Argument(help="Datanet id")],
    file: Annotated[Path, typer.Argument(help="JSON Lines file of records")],
    permit: Annotated[
        bool,
        typer.Option(
            "--permit", help="Pay the stake with an EIP-2612 permit (no separate approve transaction)"
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Refuse the file if any record duplicates an accepted one (default: warn)"
        ),
    ] = False,
    dedup: Annotated[
        bool, typer.Option("--dedup/--no-dedup", help="Check duplicates against the accepted contributions")
    ] = True,
    threshold: Annotated[float, typer.Option(help="Near-duplicate Jaccard similarity")] = 0.8,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a file against the datanet's schema, check duplicates, upload it, submit it with the stake."""
    from worker.datanet.contributing import upload_and_submit
    from worker.storage import open_store

    client = connect_client(rpc, keystore, dev_account, signing=True)
    store = open_store()
    prepared = _prepare(client, store, datanet_id, file, as_json)
    findings = _duplicates(client, store, prepared, threshold, strict, as_json) if dedup else []
    upload_store = open_store(profile=prepared.metadata.profile())
    with byte_progress(f"uploading {file.name}", prepared.byte_size, enabled=not as_json) as advance:
        submitted = upload_and_submit(client, upload_store, prepared, permit=permit, progress=advance)
    if as_json:
        emit_json(
            {
                "ok": True,
                "contribution_id": submitted.contribution_id,
                "datanet_id": datanet_id,
                "cid": submitted.cid,
                "byte_size": submitted.byte_size,
                "record_count": submitted.record_count,
                "stake": submitted.stake,
                "contributor": client.address,
                "duplicates": [_finding(f) for f in findings],
                "tx_hash": submitted.tx.tx_hash,
            }
        )
        return
    say(f"contribution #{submitted.contribution_id} submitted to datanet {datanet_id}", "green")
    say(f"  {submitted.record_count} records, {submitted.byte_size} bytes, CID {submitted.cid}")
    say(f"  stake {open_amount(submitted.stake)} escrowed; tx {submitted.tx.tx_hash}")


@literal_errors
def review_command(
    contribution_id: Annotated[int, typer.Argument(help="Contribution id")],
    verdict: Annotated[str, typer.Argument(help="accept or reject")],
    reason: Annotated[
        str, typer.Option(help="Why (uploaded as a JSON document, its CID goes on-chain)")
    ] = "",
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="Before accepting, verify the content (CID, schema, declared size and record count)",
        ),
    ] = True,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Accept or reject a pending contribution (curators of its datanet). A rejection sends the datanet's
    slash share of the stake to its treasury and the rest back to the contributor."""
    from worker.datanet.curation import review_contribution
    from worker.storage import open_store

    if verdict not in ("accept", "reject"):
        raise typer.BadParameter(f"{verdict!r}: use accept or reject", param_hint="VERDICT")
    client = connect_client(rpc, keystore, dev_account, signing=True)
    result = review_contribution(
        client, open_store(), contribution_id, verdict == "accept", reason=reason, verify_content=check
    )
    if as_json:
        emit_json(
            {
                "contribution_id": contribution_id,
                "datanet_id": result.datanet_id,
                "accepted": result.accepted,
                "reason_cid": result.reason_cid,
                "slashed": result.slashed,
                "refunded": result.refunded,
                "curator": client.address,
                "tx_hash": result.tx.tx_hash,
            }
        )
        return
    verb = "accepted" if result.accepted else "rejected"
    say(f"contribution #{contribution_id} {verb} (datanet {result.datanet_id})", "green")
    if result.reason_cid:
        say(f"  reason {result.reason_cid}")
    if not result.accepted:
        say(
            f"  {open_amount(result.slashed)} slashed to the treasury, "
            f"{open_amount(result.refunded)} refunded"
        )


def register(app: typer.Typer) -> None:
    app.command("contribute")(contribute_command)
    app.command("review")(review_command)
