"""`openledger datanet create|show|list|export`, `contribute`, `review`, `publish-version`: the Datanet
journey from the command line. The logic lives in worker.datanet (shared with the demo); this module
parses options, connects, and prints (text, or `--json` for scripts).

Transactions are signed by $OPENLEDGER_PRIVATE_KEY, a keystore, or `--dev-account N`; on a local Anvil
with none of these, dev account 0. Read-only commands sign nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.cli_output import byte_progress, emit_json, literal_errors, open_amount, say, warn
from worker.cli.options import (
    DevAccountOption,
    JsonOption,
    KeystoreOption,
    RpcOption,
    connect_client,
    parse_duration,
    parse_open,
)

if TYPE_CHECKING:
    from worker.chain.client import ChainClient

datanet_app = typer.Typer(
    name="datanet",
    help="Datanets: create one, look at them, choose curators, export a published version.",
    no_args_is_help=True,
)


def _labels(text: str) -> list[str]:
    return [label.strip() for label in text.split(",") if label.strip()]


@datanet_app.command("create")
@literal_errors
def create_command(
    name: Annotated[str, typer.Option(help="Short name of the dataset")],
    task: Annotated[
        str, typer.Option(help="classification ({text,label}) or generation ({prompt,completion})")
    ],
    licence: Annotated[str, typer.Option(help="SPDX licence identifier of the data, e.g. CC-BY-4.0")],
    curator: Annotated[list[str], typer.Option(help="Curator address (repeat the option for several)")],
    labels: Annotated[str, typer.Option(help="Comma-separated labels (classification only)")] = "",
    description: Annotated[str, typer.Option(help="What the dataset is for")] = "",
    stake: Annotated[str, typer.Option(help="OPEN staked with each contribution")] = "10",
    review_period: Annotated[str, typer.Option(help="Curators' time to review, e.g. 3600, 12h, 7d")] = "1d",
    slash_bps: Annotated[
        int, typer.Option(help="Share of a rejected stake sent to the treasury (bps)")
    ] = 5000,
    treasury: Annotated[str | None, typer.Option(help="Receives slashed stakes (default: you)")] = None,
    max_records: Annotated[int | None, typer.Option(help="Records per file (default 50000)")] = None,
    max_record_chars: Annotated[int | None, typer.Option(help="Characters per record (default 4000)")] = None,
    max_file_bytes: Annotated[int | None, typer.Option(help="Bytes per file (default 16 MiB)")] = None,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a Datanet: its metadata (schema, labels, licence, limits) is uploaded, its CID goes on-chain
    with the contribution policy and the curators. You become its owner."""
    from worker.chain.types import Policy
    from worker.data import RecordLimits
    from worker.datanet.creating import build_metadata, create_datanet
    from worker.storage import open_store

    given = {
        "max_records": max_records,
        "max_record_chars": max_record_chars,
        "max_file_bytes": max_file_bytes,
    }
    limits = RecordLimits(**{k: v for k, v in given.items() if v is not None})
    metadata = build_metadata(
        name=name, task=task, labels=_labels(labels), licence=licence, description=description, limits=limits
    )
    policy = Policy(parse_open(stake, "--stake"), parse_duration(review_period, "--review-period"), slash_bps)
    client = connect_client(rpc, keystore, dev_account, signing=True)
    created = create_datanet(client, open_store(), metadata, policy, curator, treasury)
    if as_json:
        emit_json(
            {
                "datanet_id": created.datanet_id,
                "metadata_cid": created.metadata_cid,
                "owner": created.owner,
                "treasury": created.treasury,
                "curators": list(created.curators),
                "policy": _policy(policy),
                "metadata": metadata.model_dump(mode="json"),
                "tx_hash": created.tx.tx_hash,
            }
        )
        return
    say(f"datanet {created.datanet_id} created", "green")
    say(
        f"  metadata {created.metadata_cid}; stake {open_amount(policy.stake_per_contribution)}, review "
        f"{policy.review_period} s, slash {policy.slash_bps / 100:g} %; "
        f"curators {', '.join(created.curators)}"
    )
    say(f"  contribute with: openledger contribute {created.datanet_id} FILE.jsonl")


def _policy(policy: Any) -> dict[str, int]:
    return {
        "stake_per_contribution": policy.stake_per_contribution,
        "review_period": policy.review_period,
        "slash_bps": policy.slash_bps,
    }


def _datanet_view(client: ChainClient, datanet_id: int) -> dict[str, Any]:
    """Everything `datanet show` prints: chain state, metadata (if the store has it), versions."""
    from worker.datanet.state import datanet_contributions, datanet_versions, fetch_metadata, require_datanet
    from worker.errors import StorageError
    from worker.storage import open_store

    datanet = require_datanet(client, datanet_id)
    metadata, metadata_error = None, None
    try:
        metadata = fetch_metadata(open_store(), datanet_id, datanet).model_dump(mode="json")
    except StorageError as exc:  # still worth showing what the chain knows
        metadata_error = str(exc)
    contributions = datanet_contributions(client, datanet_id, datanet)
    return {
        "datanet_id": datanet_id,
        "owner": datanet.owner,
        "treasury": datanet.treasury,
        "metadata_cid": datanet.metadata_cid,
        "metadata": metadata,
        "metadata_error": metadata_error,
        "policy": _policy(datanet.policy),
        "created_at": datanet.created_at,
        "contributions": [
            {
                "contribution_id": c.contribution_id,
                "contributor": c.contribution.contributor,
                "cid": c.contribution.content_cid,
                "records": c.contribution.record_count,
                "bytes": c.contribution.byte_size,
                "status": c.contribution.status.name.lower(),
                "reason_cid": c.contribution.reason_cid,
            }
            for c in contributions
        ],
        "versions": [
            {
                "version_id": v.version_id,
                "merkle_root": v.merkle_root,
                "manifest_cid": v.version.manifest_cid,
                "record_count": v.version.record_count,
                "contribution_count": v.version.contribution_count,
                "published_at": v.version.published_at,
            }
            for v in datanet_versions(client, datanet_id)
        ],
    }


@datanet_app.command("show")
@literal_errors
def show_command(
    datanet_id: Annotated[int, typer.Argument(help="Datanet id")],
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """A Datanet's on-chain state, its metadata (verified from content storage), contributions, versions."""
    view = _datanet_view(connect_client(rpc, None, None, signing=False), datanet_id)
    if as_json:
        emit_json(view)
        return
    meta = view["metadata"]
    title = f"{meta['name']} ({meta['task']}, licence {meta['licence']})" if meta else "metadata unavailable"
    say(f"datanet {datanet_id}: {title}", "bold")
    if meta is None:
        warn(view["metadata_error"])
    elif meta["labels"]:
        say(f"  labels {', '.join(meta['labels'])}; limits {meta['limits']}")
    policy = view["policy"]
    say(f"  owner {view['owner']}, treasury {view['treasury']}; metadata {view['metadata_cid']}")
    say(
        f"  stake {open_amount(policy['stake_per_contribution'])}, "
        f"review period {policy['review_period']} s, "
        f"slash {policy['slash_bps'] / 100:g} %"
    )
    say(f"  contributions ({len(view['contributions'])}):")
    for c in view["contributions"]:
        say(
            f"    #{c['contribution_id']} {c['status']:<9} {c['records']:>6} records  "
            f"{c['cid']}  {c['contributor']}"
        )
    say(f"  versions ({len(view['versions'])}):")
    for v in view["versions"]:
        say(
            f"    v{v['version_id']}: {v['contribution_count']} contributions, {v['record_count']} records, "
            f"root {v['merkle_root']}, manifest {v['manifest_cid']}"
        )


@datanet_app.command("list")
@literal_errors
def list_command(rpc: RpcOption = None, as_json: JsonOption = False) -> None:
    """Every Datanet of the deployment, with its name (from its metadata) and counts."""
    from worker.datanet.state import fetch_metadata
    from worker.errors import StorageError
    from worker.storage import open_store

    client, store, rows = connect_client(rpc, None, None, signing=False), open_store(), []
    for datanet_id in range(1, client.datanets.datanet_count() + 1):
        datanet = client.datanets.get_datanet(datanet_id)
        try:
            name = fetch_metadata(store, datanet_id, datanet).name
        except StorageError:
            name = None
        rows.append(
            {
                "datanet_id": datanet_id,
                "name": name,
                "owner": datanet.owner,
                "contributions": datanet.contribution_count,
                "versions": datanet.version_count,
                "metadata_cid": datanet.metadata_cid,
            }
        )
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say("no datanet yet: create one with `openledger datanet create`")
    for row in rows:
        say(
            f"{row['datanet_id']:>4}  {row['name'] or '(metadata unavailable)':<30} "
            f"{row['contributions']:>5} "
            f"contributions  {row['versions']:>3} versions  owner {row['owner']}"
        )


@datanet_app.command("export")
@literal_errors
def export_command(
    datanet_id: Annotated[int, typer.Argument(help="Datanet id")],
    version: Annotated[int, typer.Argument(help="Version number (1, 2, ...)")],
    directory: Annotated[Path, typer.Argument(help="New or empty directory to write into")],
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Download every contribution of a version (each verified against its CID) plus manifest.json, after
    checking the manifest's Merkle root against the one on-chain. Nothing is left behind on failure."""
    from worker.datanet.versions import export_version, load_published_manifest
    from worker.storage import open_store

    client, store = connect_client(rpc, None, None, signing=False), open_store()
    published = load_published_manifest(client, store, datanet_id, version)
    total = sum(entry.byte_size for entry in published.manifest.contributions)
    with byte_progress(f"exporting datanet {datanet_id} v{version}", total, enabled=not as_json) as advance:
        exported = export_version(store, published, directory, advance)
    manifest = exported.published.manifest
    payload = {
        "datanet_id": datanet_id,
        "version_id": version,
        "directory": str(exported.directory),
        "files": [str(f) for f in exported.files],
        "manifest_cid": exported.published.manifest_cid,
        "merkle_root": exported.published.merkle_root,
        "record_count": manifest.record_count,
        "contribution_count": manifest.contribution_count,
        "bytes": exported.byte_count,
    }
    if as_json:
        emit_json(payload)
        return
    say(f"exported datanet {datanet_id} v{version} to {exported.directory}", "green")
    say(
        f"  {manifest.contribution_count} contributions, {manifest.record_count} records, "
        f"{exported.byte_count} bytes; root {payload['merkle_root']} (matches the chain)"
    )


@literal_errors
def publish_version_command(
    datanet_id: Annotated[int, typer.Argument(help="Datanet id")],
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Load every contribution back before publishing")
    ] = True,
    rpc: RpcOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish the next version (datanet owner): a manifest of every accepted contribution, read from the
    chain, uploaded; its Merkle root and CID go on-chain."""
    from worker.datanet.publishing import publish_version
    from worker.storage import open_store

    client = connect_client(rpc, keystore, dev_account, signing=True)
    published = publish_version(client, open_store(), datanet_id, verify=verify)
    manifest = published.manifest
    if as_json:
        emit_json(
            {
                "datanet_id": datanet_id,
                "version_id": published.version_id,
                "merkle_root": published.merkle_root,
                "manifest_cid": published.manifest_cid,
                "record_count": manifest.record_count,
                "contribution_count": manifest.contribution_count,
                "contribution_ids": [e.contribution_id for e in manifest.contributions],
                "tx_hash": published.tx.tx_hash,
            }
        )
        return
    say(f"datanet {datanet_id} version {published.version_id} published", "green")
    say(f"  {manifest.contribution_count} contributions, {manifest.record_count} records")
    say(f"  merkle root  {published.merkle_root}")
    say(f"  manifest     {published.manifest_cid}")


def register(app: typer.Typer) -> None:
    app.add_typer(datanet_app)
    app.command("publish-version")(publish_version_command)
