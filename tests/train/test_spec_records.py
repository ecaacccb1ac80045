"""TrainingSpec validation/serialisation, record checks, labels and the deterministic split."""

from __future__ import annotations

import json
import os

import pytest

from worker.data.split import split_records as data_split
from worker.errors import TrainingError
from worker.train import ModelSource, TrainingSpec, read_jsonl, resolve_base_model, split_positions
from worker.train.records import check_records, resolve_labels
from worker.train.spec import ADAM_EPSILON, LEGACY_ADAM_EPSILON


def test_spec_json_round_trip_is_canonical():
    spec = TrainingSpec(base_model="minilm", labels=("neg", "pos"), lr=2e-3, seed=7)
    text = spec.to_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    again = TrainingSpec.from_json(text)
    assert again == spec and again.sha256() == spec.sha256()
    assert spec.replace(seed=8).sha256() != spec.sha256()


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"lr": 0}, "lr"),
        ({"epochs": 0}, "epochs"),
        ({"task": "regression"}, "task"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"labels": ("a", "a")}, "duplicates"),
        ({"labels": ("only",)}, "at least 2"),
        ({"max_length": 1}, "max_length"),
        ({"adam_epsilon": 0.0}, "adam_epsilon"),
        ({"adam_epsilon": True}, "adam_epsilon"),
    ],
)
def test_bad_spec_fields_are_named(changes, needle):
    with pytest.raises(TrainingError, match=needle):
        TrainingSpec(base_model="minilm", **changes)


def test_specs_from_before_adam_epsilon_keep_what_they_trained_with_and_their_bytes():
    spec = TrainingSpec(base_model="minilm", labels=("neg", "pos"))
    assert spec.adam_epsilon == ADAM_EPSILON != LEGACY_ADAM_EPSILON
    assert json.loads(spec.to_json())["adam_epsilon"] == ADAM_EPSILON
    assert TrainingSpec.from_json(spec.to_json()) == spec
    # JSON written before the field existed: it trained with torch's 1e-8, and reads (and hashes) so
    written_before = {k: v for k, v in json.loads(spec.to_json()).items() if k != "adam_epsilon"}
    old = TrainingSpec.from_dict(written_before)
    assert old.adam_epsilon == LEGACY_ADAM_EPSILON
    assert old.to_dict() == written_before and old.to_json() == json.dumps(
        written_before, sort_keys=True, separators=(",", ":")
    )
    assert old.sha256() != spec.sha256()


def test_spec_from_json_rejects_unknown_fields_and_garbage():
    with pytest.raises(TrainingError, match="unknown field"):
        TrainingSpec.from_dict({"base_model": "minilm", "learning_rate": 1})
    with pytest.raises(TrainingError, match="base_model"):
        TrainingSpec.from_dict({"lr": 1e-3})
    with pytest.raises(TrainingError, match="not valid JSON"):
        TrainingSpec.from_json("{nope")


def test_unknown_base_model_is_a_clear_error():
    with pytest.raises(TrainingError, match="unknown base model 'gpt-17'"):
        resolve_base_model("gpt-17")
    assert (resolve_base_model("minilm").directory / "config.json").is_file()


def test_models_installed_under_openledger_models_go_by_their_name(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    for root, name in ((first, "mine"), (second, "mine"), (second, "other"), (second, "minilm")):
        (root / name).mkdir(parents=True)
        (root / name / "config.json").write_text("{}")
    monkeypatch.setenv("OPENLEDGER_MODELS", f"{first}{os.pathsep}{second}")
    assert resolve_base_model("mine") == ModelSource("mine", first / "mine")  # first directory wins
    assert resolve_base_model("other").directory == second / "other"
    assert resolve_base_model("minilm").directory != second / "minilm"  # a packaged name is never shadowed
    assert resolve_base_model("mine", search=[second]).directory == second / "mine"
    with pytest.raises(TrainingError, match="OPENLEDGER_MODELS"):
        resolve_base_model("../a/mine", search=[second / "other"])  # only plain names are looked up


def test_split_depends_only_on_each_record(records):
    split = split_positions(records, 0.25)
    assert split.validation and split.train
    assert sorted(split.train + split.validation) == list(range(len(records)))
    assert split_positions(records, 0.25) == split
    # Appending records never moves the existing ones to the other side.
    bigger = split_positions(records + [{"text": f"new {i}", "label": "pos"} for i in range(30)], 0.25)
    assert [i for i in bigger.validation if i < len(records)] == split.validation


def test_split_is_the_datanet_split_in_input_order(records):
    split = split_positions(records, 0.25)
    datanet = data_split(records, 0.25)  # the same rule the Datanet export uses
    assert [records[i] for i in split.validation] == sorted(datanet.validation, key=records.index)
    assert split.train == sorted(split.train)  # training keeps the file order; the trainer shuffles
    # The contributor is provenance, not content: the same text from two contributors never straddles.
    twins = [dict(records[0], contributor=f"twin-{k}") for k in range(2)]
    sides = split_positions(twins + records, 0.5)
    assert (0 in sides.validation) == (1 in sides.validation)


def test_split_keeps_one_validation_record_when_the_fraction_is_tiny(records):
    split = split_positions(records[:3], 0.01)
    assert len(split.validation) == 1 and len(split.train) == 2
    assert split_positions(records, 0.0).validation == []


def test_record_checks(records):
    with pytest.raises(TrainingError, match="empty"):
        check_records([], "classification")
    with pytest.raises(TrainingError, match="'text' must be a string"):
        check_records([{"text": 3, "label": "a"}], "classification")
    with pytest.raises(TrainingError, match="scalar 'label'"):
        check_records([{"text": "x"}], "classification")
    with pytest.raises(TrainingError, match="'completion'"):
        check_records([{"prompt": "x"}], "generation")
    check_records([{"text": "free text"}, {"prompt": "p", "completion": "c"}], "generation")
    with pytest.raises(TrainingError, match="single class"):
        resolve_labels([{"text": "x", "label": "a"}] * 3, ())
    with pytest.raises(TrainingError, match="not in the spec's labels"):
        resolve_labels(records, ("neg", "other"))
    assert resolve_labels(records, ()) == ("neg", "pos")


def test_read_jsonl_reports_the_bad_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n\n[1, 2]\n')
    with pytest.raises(TrainingError, match=r"data.jsonl:3: each line must be a JSON object"):
        read_jsonl(path)
    path.write_text('{"text": "a"\n')
    with pytest.raises(TrainingError, match=r"data.jsonl:1: not valid JSON"):
        read_jsonl(path)
    with pytest.raises(TrainingError, match="does not exist"):
        read_jsonl(tmp_path / "missing.jsonl")
