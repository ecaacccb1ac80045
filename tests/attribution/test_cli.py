"""`openledger train` + `openledger attribute` end to end on ~40 records with the packaged minilm."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from worker.cli import train_commands


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    train_commands.register(app)
    return app


def _write(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_train_then_attribute_with_minilm(cli, tmp_path, records):
    runner = CliRunner()
    data = _write(tmp_path / "data.jsonl", records)
    queries = _write(tmp_path / "queries.jsonl", [{"text": "good great love it"}, records[0]])
    model, report = tmp_path / "model", tmp_path / "out" / "report.json"
    result = runner.invoke(
        cli,
        [
            "train",
            "--base",
            "minilm",
            "--data",
            data,
            "--out",
            str(model),
            "--epochs",
            "1",
            "--max-length",
            "24",
            "--lr",
            "2e-3",
            "--dataset-root",
            "0xroot",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["metrics"]["train_records"] + summary["metrics"]["validation_records"] == len(records)
    assert json.loads((model / "dataset.json").read_text())["root"] == "0xroot"

    argv = [
        "attribute",
        "--model",
        str(model),
        "--train",
        data,
        "--queries",
        queries,
        "--out",
        str(report),
        "--projection-dim",
        "128",
        "--checkpoints",
        "final",
        "--json",
    ]
    result = runner.invoke(cli, argv)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output.strip().splitlines()[-1])
    full = json.loads(report.read_text())
    assert len(full["scores"]) == 2 and len(full["scores"][0]) == summary["metrics"]["train_records"]
    assert printed["summary"] == full["summary"]
    assert {c["key"] for c in full["summary"]["contributors"]} == {"c0", "c1", "c2", "c3"}
    assert full["queries"][0]["label"] in ("neg", "pos")
    # The index it built lies beside the report; the model directory is left as training wrote it.
    assert (report.parent / "attribution_index.safetensors").is_file()
    assert not (model / "attribution_index.safetensors").exists()

    # Human output: a table per contributor; a second run reuses the saved index.
    result = runner.invoke(cli, argv[:-1])
    assert result.exit_code == 0 and "per-contributor" in result.output and "c0" in result.output


def test_bad_inputs_fail_cleanly(cli, tmp_path, records):
    runner = CliRunner()
    empty = _write(tmp_path / "empty.jsonl", [])
    single = _write(tmp_path / "single.jsonl", [{"text": f"t {i}", "label": "a"} for i in range(6)])
    data = _write(tmp_path / "data.jsonl", records)
    cases = [
        (["train", "--data", empty, "--out", str(tmp_path / "m1")], "dataset is empty"),
        (["train", "--data", single, "--out", str(tmp_path / "m2")], "single class"),
        (["train", "--base", "nope", "--data", data, "--out", str(tmp_path / "m3")], "unknown base model"),
        (
            [
                "attribute",
                "--model",
                str(tmp_path / "none"),
                "--train",
                data,
                "--queries",
                data,
                "--out",
                str(tmp_path / "r.json"),
            ],
            "not a trained model directory",
        ),
    ]
    for argv, needle in cases:
        result = runner.invoke(cli, argv)
        assert result.exit_code == 1, result.output
        assert needle in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "empty.jsonl", "single.jsonl"]
