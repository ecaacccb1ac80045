"""Training on tiny random models: artifacts, determinism, truncation, errors leave nothing behind."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from worker.errors import TrainingError
from worker.train import TrainingSpec, load_trained, train
from worker.train.artifacts import checkpoint_paths


def _spec(base, **changes) -> TrainingSpec:
    values = dict(
        base_model=str(base), epochs=2, batch_size=8, lr=1e-2, max_length=16, validation_fraction=0.2
    )
    values.update(changes)
    return TrainingSpec(**values)


def test_training_writes_a_complete_model_directory(tiny_bert, records, tmp_path):
    out = tmp_path / "model"
    outcome = train(_spec(tiny_bert), records, out, dataset_root="0xabc")
    names = {p.name for p in out.iterdir()}
    assert {
        "adapter_model.safetensors",
        "adapter_config.json",
        "spec.json",
        "metrics.json",
        "versions.json",
        "dataset.json",
    } <= names
    spec = TrainingSpec.from_json((out / "spec.json").read_text())
    assert spec.labels == ("neg", "pos")  # filled in from the records
    metrics = json.loads((out / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(metrics["final"])
    assert metrics["train_records"] + metrics["validation_records"] == len(records)
    dataset = json.loads((out / "dataset.json").read_text())
    assert dataset["root"] == "0xabc" and len(dataset["train"]) == metrics["train_records"]
    assert set(json.loads((out / "versions.json").read_text())) >= {"python", "torch", "transformers", "peft"}
    assert [p.name for p in checkpoint_paths(out)] == ["epoch-1.safetensors", "epoch-2.safetensors"]
    # The last checkpoint is the adapter's state; the classifier head is trained and saved too.
    weights = load_file(str(out / "adapter_model.safetensors"))
    assert any("classifier" in k for k in weights) and any("lora_A" in k for k in weights)
    # The directory holds no wall-clock figures (its CID must replay); the caller still gets them.
    assert outcome.metrics["seconds"] >= 0 and "seconds" not in metrics
    assert {k: v for k, v in outcome.metrics.items() if k != "seconds"} == metrics


def test_same_spec_and_records_give_bit_identical_adapters(tiny_bert, records, tmp_path):
    spec = _spec(tiny_bert, lora_dropout=0.1)  # dropout exercises the seeded RNG as well
    train(spec, records, tmp_path / "a")
    train(spec, records, tmp_path / "b")
    train(spec.replace(seed=1), records, tmp_path / "c")
    a, b, c = (load_file(str(tmp_path / d / "adapter_model.safetensors")) for d in "abc")
    assert a.keys() == b.keys()
    assert all(a[k].equal(b[k]) for k in a)
    assert (tmp_path / "a" / "adapter_model.safetensors").read_bytes() == (
        tmp_path / "b" / "adapter_model.safetensors"
    ).read_bytes()
    assert not all(a[k].equal(c[k]) for k in a)


def test_trained_adapter_loads_back_with_the_same_outputs(tiny_bert, records, tmp_path):
    import torch

    from worker.train import build_model, train_in_memory

    spec = _spec(tiny_bert, epochs=3)
    trained, _, _ = train_in_memory(spec, records)
    train(spec, records, tmp_path / "m")
    loaded = load_trained(tmp_path / "m")
    fresh = build_model(loaded.spec).model.eval()
    batch = loaded.tokenizer([r["text"] for r in records], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected, got, untrained = (m(**batch).logits for m in (trained.model.eval(), loaded.model, fresh))
    assert torch.equal(expected, got)  # the adapter (LoRA + head) round-trips exactly
    assert not torch.allclose(untrained, got)


def test_over_long_records_are_counted_or_refused(tiny_bert, records, tmp_path):
    outcome = train(_spec(tiny_bert, max_length=6, epochs=1), records, tmp_path / "m")
    assert outcome.metrics["truncated_records"] == len(records)
    with pytest.raises(TrainingError, match=r"exceed max_length=6"):
        train(_spec(tiny_bert, max_length=6, strict_length=True), records, tmp_path / "strict")
    assert not (tmp_path / "strict").exists()


@pytest.mark.parametrize(
    "data, spec_changes, needle",
    [
        ([], {}, "dataset is empty"),
        ([{"text": f"t{i}", "label": "a"} for i in range(5)], {}, "single class"),
        (None, {"base_model": "no-such-model"}, "unknown base model"),
        (
            [{"text": "x", "label": "zzz"}, {"text": "y", "label": "neg"}],
            {"labels": ("neg", "pos")},
            "not in",
        ),
    ],
)
def test_bad_input_is_refused_without_partial_output(
    tiny_bert, records, tmp_path, data, spec_changes, needle
):
    out = tmp_path / "model"
    with pytest.raises(TrainingError, match=needle):
        train(_spec(tiny_bert, **spec_changes), records if data is None else data, out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model")]


def test_existing_output_is_not_overwritten(tiny_bert, records, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(TrainingError, match="already exists"):
        train(_spec(tiny_bert, epochs=1), records, out)
    assert (out / "keep.txt").read_text() == "mine"


def test_generation_training_on_a_tiny_causal_lm(tiny_llama, generation_data, tmp_path):
    spec = _spec(tiny_llama, task="generation", epochs=2, lr=5e-3, max_length=24, validation_fraction=0.2)
    outcome = train(spec, generation_data, tmp_path / "lm")
    assert outcome.metrics["epochs"][-1]["val_loss"] > 0
    weights = load_file(str(tmp_path / "lm" / "adapter_model.safetensors"))
    assert any("q_proj" in k for k in weights) and any("v_proj" in k for k in weights)
