"""A derived model's training starts from its parent's adapter: deterministically, recorded in the spec,
and only from a parent whose adapter fits."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from worker.errors import TrainingError
from worker.train import TrainingSpec, train

PARENT_CID = "bafyparentbundle"


def _spec(base, **changes) -> TrainingSpec:
    values = dict(
        base_model=str(base), epochs=1, batch_size=8, lr=1e-2, max_length=16, validation_fraction=0.2
    )
    values.update(changes)
    return TrainingSpec(**values)


def _weights(directory):
    return load_file(str(directory / "adapter_model.safetensors"))


def test_spec_from_scratch_keeps_its_bytes(tiny_bert) -> None:
    spec = _spec(tiny_bert)
    assert "start_from" not in spec.to_dict()
    derived = spec.replace(start_from=PARENT_CID)
    assert derived.to_dict()["start_from"] == PARENT_CID
    assert TrainingSpec.from_json(derived.to_json()) == derived


def test_child_starts_from_parent_deterministically(tiny_bert, records, tmp_path) -> None:
    parent = train(_spec(tiny_bert, epochs=2), records, tmp_path / "parent").out_dir
    child_spec = _spec(tiny_bert, start_from=PARENT_CID, seed=1)
    a = train(child_spec, records[:20], tmp_path / "a", parent_dir=parent).out_dir
    b = train(child_spec, records[:20], tmp_path / "b", parent_dir=parent).out_dir
    scratch = train(_spec(tiny_bert, seed=1), records[:20], tmp_path / "scratch").out_dir
    wa, wb, ws = _weights(a), _weights(b), _weights(scratch)
    assert all(wa[k].equal(wb[k]) for k in wa)  # replayable bit for bit
    assert any(not wa[k].equal(ws[k]) for k in wa)  # and not the run from scratch
    assert TrainingSpec.from_json((a / "spec.json").read_text()).start_from == PARENT_CID


def test_parent_is_required_named_and_compatible(tiny_bert, records, tmp_path) -> None:
    with pytest.raises(TrainingError, match="fetch that bundle"):
        train(_spec(tiny_bert, start_from=PARENT_CID), records, tmp_path / "x")
    parent = train(_spec(tiny_bert), records, tmp_path / "parent").out_dir
    with pytest.raises(TrainingError, match="does not name one"):
        train(_spec(tiny_bert), records, tmp_path / "y", parent_dir=parent)
    with pytest.raises(TrainingError, match="lora_r"):
        train(_spec(tiny_bert, start_from=PARENT_CID, lora_r=4), records, tmp_path / "z", parent_dir=parent)
    assert not (tmp_path / "x").exists() and not (tmp_path / "z").exists()
