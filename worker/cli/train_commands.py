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
    threads: Annotated[
        int | None,
        typer.Option(
            help="CPU threads (default: every core this process may use; with --spec, the spec's "
            "cpu_threads). Recorded in spec.json: a replay uses the same count"
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output directory")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Fine-tune a LoRA adapter deterministically and save it with spec, metrics and versions."""
    from worker.train import TrainingSpec, read_jsonl, train
    from worker.train.determinism import available_cpus

    if spec_file is not None:
        spec = TrainingSpec.from_json(spec_file.read_text())
        if threads is not None:
            spec = spec.replace(cpu_threads=threads)
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
            cpu_threads=threads if threads is not None else available_cpus(),
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
                    "cpu_threads": outcome.spec.cpu_threads,
                    "metrics": outcome.metrics,
                },
                sort_keys=True,
            )
        )
        return
    final = outcome.metrics["final"]
    console.print(
        f"[green]adapter written to[/] {outcome.out_dir} ({outcome.spec.cpu_threads} CPU thread(s), "
        "recorded in spec.json)"
    )
    console.print(
        f"train records {outcome.metrics['train_records']}, "
        f"validation {outcome.metrics['validation_records']},"
        f" truncated {outcome.metrics['truncated_records']}; final: "
        + ", ".join(f"{k} {v:.4f}" for k, v in final.items() if k != "epoch")
    )


def _results_paths(model: Path, out: Path | None, into_model: bool) -> tuple[Path, Path]:
    """(report file, folder for the index it builds). `--out` names a .json report file or a folder (the
    report is then its report.json); by default a folder beside the model, `<model>-attribution/`. The
    model directory itself is written only when asked (`--save-index-in-model`)."""
    from worker.errors import AttributionError

    if out is None:
        folder = model.resolve().parent / f"{model.resolve().name}-attribution"
        report = folder / "report.json"
    else:
        report = out if out.suffix == ".json" else out / "report.json"
        folder = report.parent
    if into_model:
        return report, model
    if folder.resolve() == model.resolve():
        raise AttributionError(
            f"--out {out} would write into the model directory {model}; choose a path outside it, or pass "
            "--save-index-in-model to replace the index saved there"
        )
    return report, folder


def _mislabel_table(rows: list[dict[str, Any]], shown: int) -> Table:
    table = Table(title=f"most likely mislabelled (top {min(shown, len(rows))} of {len(rows)}; --json: all)")
    for column in ("rank", "record", "hash", "contribution", "score"):
        table.add_column(column, justify="right" if column in ("rank", "record", "score") else "left")
    for rank, row in enumerate(rows[:shown], start=1):
        table.add_row(
            str(rank),
            str(row["record"]),
            str(row["hash"])[:16],
            str(row.get("contribution") or row.get("contributor") or ""),
            f"{row['score']:.4g}",
        )
    return table


def _given(**options: Any) -> dict[str, Any]:
    """The options the user set (typer gives None for the others, which keep the engine's defaults)."""
    return {name: value for name, value in options.items() if value is not None}


def attribute_command(
    model: Annotated[Path, typer.Option("--model", help="Directory written by `openledger train`")],
    train_file: Annotated[Path, typer.Option("--train", help="The JSONL file the model was trained on")],
    queries_file: Annotated[Path, typer.Option("--queries", help="JSONL queries (outputs) to attribute")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Report file (.json) or folder for report.json and the index built "
            "(default: <model>-attribution/ beside the model)",
        ),
    ] = None,
    top_k: Annotated[int | None, typer.Option(help="Records listed per query")] = None,
    projection_dim: Annotated[int | None, typer.Option(help="Random projection size (0: none)")] = None,
    damping_ratio: Annotated[
        float | None, typer.Option(help="Damping as a multiple of the mean eigenvalue")
    ] = None,
    checkpoints: Annotated[str | None, typer.Option(help="all (ensemble epochs) or final")] = None,
    query_checkpoints: Annotated[
        str | None,
        typer.Option(
            help="all (query gradient at every checkpoint) or final (at the final adapter: about half the "
            "cost, less accurate)"
        ),
    ] = None,
    lora_layers: Annotated[
        float | None, typer.Option(help="Share of LoRA blocks, from the top, used as features (1.0: all)")
    ] = None,
    rebuild_index: Annotated[bool, typer.Option(help="Rebuild the saved index even if it matches")] = False,
    save_index_in_model: Annotated[
        bool,
        typer.Option(help="Save the index built into the model directory, replacing the one saved there"),
    ] = False,
    mislabel_top: Annotated[int, typer.Option(help="Most suspicious labels printed (classifiers)")] = 10,
    model_level: Annotated[
        str | None,
        typer.Option(
            help="replay (exact: training replayed and differentiated, a few times its cost) or gradients "
            "(approximate, from the index)"
        ),
    ] = None,
    parent: Annotated[
        Path | None,
        typer.Option(help="A derived model's parent adapter directory (the replay starts from it)"),
    ] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: GPU if present)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Score every query against every training record; write the report (and the index it builds) beside
    the model; print per-contributor totals and the records most likely mislabelled. Knobs left out keep
    the engine's defaults (docs/ATTRIBUTION.md says how they were chosen); the report records every one."""
    from worker.attribution import AttributionArguments, FeatureArguments, PreconditionerArguments, attribute
    from worker.attribution.arguments import ModelLevelArguments, ScoreArguments
    from worker.errors import AttributionError
    from worker.train import read_jsonl

    # Options left out keep the engine's defaults (worker/attribution/arguments.py, their one home)
    args = AttributionArguments(
        features=FeatureArguments(
            **_given(projection_dim=projection_dim, checkpoints=checkpoints, lora_layers=lora_layers)
        ),
        preconditioner=PreconditionerArguments(**_given(damping_ratio=damping_ratio)),
        score=ScoreArguments(**_given(top_k=top_k, query_checkpoints=query_checkpoints)),
        model_level=ModelLevelArguments(**_given(method=model_level)),
    )
    report_path, index_dir = _results_paths(model, out, save_index_in_model)
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
            index_dir=index_dir,
            parent_dir=parent,
        )
    atomic_write(report_path, report.to_json() + "\n")
    mislabel = report.mislabel_ranking()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "report": str(report_path),
                    "index_dir": str(index_dir),
                    "sha256": report.sha256(),
                    "summary": report.summary,
                    "model_level": report.model_level
                    and {k: v for k, v in report.model_level.items() if k != "scores"},
                    "mislabel": mislabel,
                },
                sort_keys=True,
            )
        )
        return
    console.print(
        f"[green]report written to[/] {report_path} "
        f"({len(report.queries)} queries x {len(report.records)} records; index in {index_dir})"
    )
    console.print(_contributor_table("per-contributor (query-summed scores)", report.summary["contributors"]))
    if report.model_level:
        method = report.model_level.get("method", "gradients")
        console.print(
            _contributor_table(
                f"model-level (mean validation measurement, by {method})",
                report.model_level["contributors"],
            )
        )
    if mislabel and mislabel_top > 0:
        console.print(_mislabel_table(mislabel, mislabel_top))


def register(app: typer.Typer) -> None:
    app.command("train")(friendly_errors(train_command))
    app.command("attribute")(friendly_errors(attribute_command))
