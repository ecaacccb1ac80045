"""`openledger train` and `openledger attribute`: fine-tune a LoRA adapter, then attribute its outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.cli_output import attribution_progress
from worker.cli.errors import friendly_errors
from worker.files import atomic_write

if TYPE_CHECKING:
    from worker.data.schema import ModelTask

console = Console()


def _contributor_table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("contributor", "records", "weight", "positive", "negative", "flagged"):
        table.add_column(column, justify="left" if column == "contributor" else "right")
    for row in rows:
        table.add_row(
            row["key"],
            str(row["records"]),
            f"{row['weight']:.4f}",
            f"{row['positive']:.4g}",
            f"{row['negative']:.4g}",
            "yes" if row["flagged"] else "",
        )
    return table


def train_command(
    data: Annotated[Path, typer.Option("--data", help="JSONL records: {text,label} or {prompt,completion}")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the adapter and its metadata into")],
    base: Annotated[
        str, typer.Option("--base", help="minilm, smollm2-135m or a local model directory")
    ] = "minilm",
    task: Annotated[str, typer.Option(help="classification or generation")] = "classification",
    labels: Annotated[
        str, typer.Option(help="Comma-separated label list (default: sorted labels seen)")
    ] = "",
    epochs: Annotated[int, typer.Option(help="Passes over the training records")] = 3,
    lr: Annotated[float, typer.Option(help="Learning rate")] = 1e-3,
    seed: Annotated[int, typer.Option(help="Seed for initialisation and data order")] = 0,
    batch_size: Annotated[int, typer.Option(help="Records per optimisation step")] = 16,
    max_length: Annotated[int, typer.Option(help="Tokens per record; longer ones are truncated")] = 128,
    lora_r: Annotated[int, typer.Option(help="LoRA rank")] = 8,
    validation_fraction: Annotated[float, typer.Option(help="Share of records held out (by hash)")] = 0.1,
    strict_length: Annotated[bool, typer.Option(help="Refuse records longer than max_length")] = False,
    spec_file: Annotated[
        Path | None, typer.Option("--spec", help="TrainingSpec JSON (overrides options)")
    ] = None,
    dataset_root: Annotated[str, typer.Option(help="Dataset identity to record, e.g. a Merkle root")] = "",
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: GPU if present)")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output directory")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Fine-tune a LoRA adapter deterministically and save it with spec, metrics and versions."""
    from worker.train import TrainingSpec, read_jsonl, train

    if spec_file is not None:
        spec = TrainingSpec.from_json(spec_file.read_text())
    else:
        spec = TrainingSpec(
            base_model=base,
            task=cast("ModelTask", task),  # a CLI string: validate_spec checks it
            labels=tuple(x for x in labels.split(",") if x),
            epochs=epochs,
            lr=lr,
            seed=seed,
            batch_size=batch_size,
            max_length=max_length,
            lora_r=lora_r,
            lora_alpha=2 * lora_r,
            validation_fraction=validation_fraction,
            strict_length=strict_length,
        )
    outcome = train(
        spec,
        read_jsonl(data),
        out,
        dataset_root=dataset_root,
        device=device,
        progress=not as_json,
        overwrite=overwrite,
    )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "out": str(outcome.out_dir),
                    "spec_sha256": outcome.spec.sha256(),
                    "metrics": outcome.metrics,
                },
                sort_keys=True,
            )
        )
        return
    final = outcome.metrics["final"]
    console.print(f"[green]adapter written to[/] {outcome.out_dir}")
    console.print(
        f"train records {outcome.metrics['train_records']}, "
        f"validation {outcome.metrics['validation_records']},"
        f" truncated {outcome.metrics['truncated_records']}; final: "
        + ", ".join(f"{k} {v:.4f}" for k, v in final.items() if k != "epoch")
    )


def attribute_command(
    model: Annotated[Path, typer.Option("--model", help="Directory written by `openledger train`")],
    train_file: Annotated[Path, typer.Option("--train", help="The JSONL file the model was trained on")],
    queries_file: Annotated[Path, typer.Option("--queries", help="JSONL queries (outputs) to attribute")],
    out: Annotated[Path, typer.Option("--out", help="Report file to write (canonical JSON)")],
    top_k: Annotated[int, typer.Option(help="Records listed per query")] = 10,
    projection_dim: Annotated[int, typer.Option(help="Random projection size (0: none)")] = 1024,
    damping_ratio: Annotated[float, typer.Option(help="Damping as a multiple of the mean eigenvalue")] = 30.0,
    checkpoints: Annotated[str, typer.Option(help="all (ensemble epochs) or final")] = "all",
    lora_layers: Annotated[
        float, typer.Option(help="Share of LoRA blocks, from the top, used as features (1.0: all)")
    ] = 0.33,
    rebuild_index: Annotated[bool, typer.Option(help="Rebuild the saved index even if it matches")] = False,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: GPU if present)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Score every query against every training record; write the report, print per-contributor totals."""
    from worker.attribution import AttributionArguments, FeatureArguments, PreconditionerArguments, attribute
    from worker.attribution.arguments import ScoreArguments
    from worker.errors import AttributionError
    from worker.train import read_jsonl

    args = AttributionArguments(
        features=FeatureArguments(
            projection_dim=projection_dim, checkpoints=checkpoints, lora_layers=lora_layers
        ),
        preconditioner=PreconditionerArguments(damping_ratio=damping_ratio),
        score=ScoreArguments(top_k=top_k),
    )
    queries = read_jsonl(queries_file)
    if not queries:
        raise AttributionError(f"{queries_file} holds no queries: give at least one record to attribute")
    with attribution_progress(enabled=not as_json) as progress:
        report = attribute(
            model,
            read_jsonl(train_file),
            queries,
            args=args,
            device=device,
            rebuild_index=rebuild_index,
            progress=progress,
        )
    atomic_write(out, report.to_json() + "\n")
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "report": str(out),
                    "sha256": report.sha256(),
                    "summary": report.summary,
                    "model_level": report.model_level
                    and {k: v for k, v in report.model_level.items() if k != "scores"},
                },
                sort_keys=True,
            )
        )
        return
    console.print(
        f"[green]report written to[/] {out} ({len(report.queries)} queries x {len(report.records)} records)"
    )
    console.print(_contributor_table("per-contributor (query-summed scores)", report.summary["contributors"]))
    if report.model_level:
        console.print(
            _contributor_table(
                "model-level (mean validation measurement)", report.model_level["contributors"]
            )
        )


def register(app: typer.Typer) -> None:
    app.command("train")(friendly_errors(train_command))
    app.command("attribute")(friendly_errors(attribute_command))
