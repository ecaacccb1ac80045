"""`openledger train --threads` and `openledger attribute`'s options on tiny models: the thread count
recorded and used, every-checkpoint queries, results beside the model (its saved index untouched unless
asked), and mislabel scores ranked per record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import typer
from tinymodels import sentiment_records
from typer.testing import CliRunner

from worker.attribution import AttributionArguments, FeatureArguments
from worker.attribution.index import INDEX_CONFIG, INDEX_TENSORS
from worker.attribution.report import AttributionReport
from worker.cli import train_commands
from worker.train import TrainingSpec


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    train_commands.register(app)
    return app


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _invoke(cli: typer.Typer, argv: list[str]) -> str:
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def thread_calls(monkeypatch) -> list[int]:
    """Every torch.set_num_threads(n) made while the test runs (the calls still go through)."""
    calls: list[int] = []
    original = torch.set_num_threads

    def spy(n: int) -> None:
        calls.append(n)
        original(n)

    monkeypatch.setattr(torch, "set_num_threads", spy)
    return calls


def test_train_threads_default_to_the_cores_and_are_recorded(
    cli, tiny_bert, tmp_path, monkeypatch, thread_calls
):
    data = _write(tmp_path / "data.jsonl", sentiment_records(16))
    common = ["train", "--base", str(tiny_bert), "--data", data, "--epochs", "1", "--max-length", "16"]
    monkeypatch.setattr("worker.train.determinism.available_cpus", lambda: 3)

    _invoke(cli, [*common, "--out", str(tmp_path / "default"), "--json"])
    assert json.loads((tmp_path / "default" / "spec.json").read_text())["cpu_threads"] == 3
    assert thread_calls[0] == 3  # set for the run, then the previous count restored

    thread_calls.clear()
    printed = _invoke(cli, [*common, "--out", str(tmp_path / "one"), "--threads", "1", "--json"])
    assert json.loads(printed.strip().splitlines()[-1])["cpu_threads"] == 1
    assert json.loads((tmp_path / "one" / "spec.json").read_text())["cpu_threads"] == 1
    assert thread_calls[0] == 1

    # A spec file keeps its own count unless --threads is given.
    spec = tmp_path / "spec.json"
    spec.write_text(TrainingSpec(base_model=str(tiny_bert), epochs=1, max_length=16, cpu_threads=2).to_json())
    for extra, expected in (([], 2), (["--threads", "1"], 1)):
        out = tmp_path / f"spec-{expected}"
        _invoke(cli, ["train", "--spec", str(spec), "--data", data, "--out", str(out), "--json", *extra])
        assert json.loads((out / "spec.json").read_text())["cpu_threads"] == expected

    result = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "zero"), "--threads", "0"])
    assert result.exit_code == 1 and "cpu_threads must be >= 1" in result.output


@pytest.fixture
def model_dir(trained_bert, tmp_path) -> Path:
    return Path(shutil.copytree(trained_bert, tmp_path / "model"))


FINAL = ("--query-checkpoints", "final")


def _attribute(cli, model: Path, tmp_path: Path, *extra: str) -> dict:
    data = _write(tmp_path / "train.jsonl", sentiment_records())
    queries = _write(tmp_path / "queries.jsonl", sentiment_records()[:3])
    argv = ["attribute", "--model", str(model), "--train", data, "--queries", queries]
    printed = _invoke(cli, [*argv, "--projection-dim", "64", *extra, "--json"])
    return dict(json.loads(printed.strip().splitlines()[-1]))


def test_attribute_writes_beside_the_model_and_keeps_its_index(cli, model_dir, tmp_path):
    # An index saved in the model directory (asked for explicitly) ...
    into = _attribute(cli, model_dir, tmp_path, "--out", str(tmp_path / "first"), "--save-index-in-model")
    assert into["index_dir"] == str(model_dir) and (model_dir / INDEX_TENSORS).is_file()
    saved = {name: (model_dir / name).read_bytes() for name in (INDEX_TENSORS, INDEX_CONFIG)}

    # ... is left alone by a run with other arguments, which writes report and index beside the model.
    printed = _attribute(cli, model_dir, tmp_path, "--lora-layers", "0.5")
    results = tmp_path / "model-attribution"
    assert printed["report"] == str(results / "report.json") and printed["index_dir"] == str(results)
    assert (results / INDEX_TENSORS).is_file() and (results / "report.json").is_file()
    assert {name: (model_dir / name).read_bytes() for name in saved} == saved
    assert json.loads((results / INDEX_CONFIG).read_text())["features"]["lora_layers"] == 0.5

    # A rerun reuses the index beside the model; one matching the model's own is read from there.
    before = (results / INDEX_TENSORS).stat().st_mtime_ns
    _attribute(cli, model_dir, tmp_path, "--lora-layers", "0.5")
    assert (results / INDEX_TENSORS).stat().st_mtime_ns == before
    report_only = tmp_path / "report-only"
    _attribute(cli, model_dir, tmp_path, "--out", str(report_only / "r.json"))
    assert sorted(p.name for p in report_only.iterdir()) == ["r.json"]

    # --out inside the model directory is refused unless the index may go there.
    data = _write(tmp_path / "train.jsonl", sentiment_records())
    argv = ["attribute", "--model", str(model_dir), "--train", data, "--queries", data]
    result = CliRunner().invoke(cli, [*argv, "--out", str(model_dir / "report.json")])
    assert result.exit_code == 1 and "would write into the model directory" in " ".join(result.output.split())
    assert {name: (model_dir / name).read_bytes() for name in saved} == saved


def test_attribute_query_checkpoints_and_ranked_mislabel_scores(cli, model_dir, tmp_path):
    final = _attribute(cli, model_dir, tmp_path, "--out", str(tmp_path / "final"), *FINAL)
    every = _attribute(cli, model_dir, tmp_path, "--out", str(tmp_path / "all"), "--query-checkpoints", "all")
    reports = [json.loads(Path(p["report"]).read_text()) for p in (final, every)]
    assert [r["arguments"]["score"]["query_checkpoints"] for r in reports] == ["final", "all"]
    assert reports[0]["scores"] != reports[1]["scores"]
    # the options left out are the engine's defaults (their one home: worker/attribution/arguments.py)
    engine = AttributionArguments(features=FeatureArguments(projection_dim=64)).to_dict()
    assert reports[1]["arguments"] == {**engine, "score": {**engine["score"], "query_checkpoints": "all"}}

    report = reports[0]
    rows = final["mislabel"]
    assert rows == report["mislabel"] and len(rows) == len(report["records"])
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    for row in rows:
        record = report["records"][row["record"]]
        assert row["hash"] == record["hash"] and row["contributor"] == record["contributor"]
    assert "contribution" not in rows[0]  # unknown for these records: left out

    data = _write(tmp_path / "train.jsonl", sentiment_records())
    argv = ["attribute", "--model", str(model_dir), "--train", data, "--queries", data]
    human = _invoke(
        cli, [*argv, "--projection-dim", "64", "--out", str(tmp_path / "h"), "--mislabel-top", "3"]
    )
    assert "most likely mislabelled (top 3 of" in human and rows[0]["hash"][:16] in human
    result = CliRunner().invoke(cli, [*argv, "--out", str(tmp_path / "x"), "--query-checkpoints", "some"])
    assert result.exit_code == 1 and "query_checkpoints 'some'" in result.output

    # An index left beside the model by a run on another adapter is rebuilt, not read.
    checkpoints = model_dir / "checkpoints"
    shutil.copy(checkpoints / "epoch-2.safetensors", checkpoints / "epoch-1.safetensors")
    rerun = _attribute(cli, model_dir, tmp_path, "--out", str(tmp_path / "final"), *FINAL)
    assert json.loads(Path(rerun["report"]).read_text())["scores"] != report["scores"]


def test_reports_with_positional_mislabel_scores_still_read():
    """A report written before mislabel rows (one float per record, in record order) ranks the same."""
    records = [
        {"hash": f"h{i}", "contributor": f"c{i}", "contribution": "k" if i == 1 else None} for i in range(3)
    ]
    fields = dict(model={}, arguments={}, seeds={}, versions={}, queries=[], scores=[], summary={})
    old = AttributionReport.from_dict({**fields, "records": records, "mislabel": [0.5, 2.0, -1.0]})
    ranking = old.mislabel_ranking()
    assert [r["record"] for r in ranking] == [1, 0, 2] and ranking[0]["contribution"] == "k"
    assert ranking[0] == {"record": 1, "hash": "h1", "score": 2.0, "contribution": "k", "contributor": "c1"}
    assert (
        AttributionReport.from_dict({**fields, "records": records, "mislabel": ranking}).mislabel_ranking()
        == ranking
    )
