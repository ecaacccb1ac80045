"""Starting a derived model's training from its parent's adapter.

A model registered as fine-tuned from another (ModelRegistry.registerDerivedModel) names the parent's
adapter bundle CID in its spec (`start_from`). Training builds the LoRA model of the spec as usual (same
seeded initialisation), then overwrites every adapter weight, the classifier head included, with the
parent's: the run is a pure function of (spec, records, parent bundle), so a verifier that fetches the
same bundle by its CID replays it bit for bit. The parent must have the same base model, task, labels and
LoRA shape; anything else is a TrainingError before a step is taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from worker.errors import TrainingError
from worker.train.spec import TrainingSpec

# The spec fields an adapter's tensors depend on: a parent that differs in any cannot be continued.
SHAPE_FIELDS = ("base_model", "task", "labels", "lora_r", "lora_alpha", "target_modules")


def parent_spec(parent_dir: Path) -> TrainingSpec:
    spec_path = parent_dir / "spec.json"
    if not spec_path.is_file() or not (parent_dir / "adapter_model.safetensors").is_file():
        raise TrainingError(f"{parent_dir} is not a trained model directory (needs spec.json and adapter)")
    return TrainingSpec.from_json(spec_path.read_text())


def check_compatible(spec: TrainingSpec, parent: TrainingSpec) -> None:
    """Refuse a parent whose adapter does not fit the child's LoRA model, naming the field."""
    for name in SHAPE_FIELDS:
        mine, theirs = getattr(spec, name), getattr(parent, name)
        if mine != theirs:
            raise TrainingError(
                f"the spec starts from adapter {spec.start_from} whose {name} is {theirs!r}, not {mine!r}: "
                "a derived model keeps its parent's base model, task, labels and LoRA shape"
            )


def load_parent_adapter(model: Any, spec: TrainingSpec, parent_dir: Path) -> None:
    """Overwrite the LoRA (and head) weights of `model` with those of the parent bundle at `parent_dir`."""
    from peft import get_peft_model_state_dict, set_peft_model_state_dict
    from safetensors.torch import load_file

    check_compatible(spec, parent_spec(parent_dir))
    weights = load_file(str(parent_dir / "adapter_model.safetensors"))
    absent = sorted(set(get_peft_model_state_dict(model)) - set(weights))
    if absent:
        raise TrainingError(f"the parent adapter in {parent_dir} lacks tensors: {absent[:3]}")
    try:
        result = set_peft_model_state_dict(model, weights)
    except RuntimeError as exc:  # a tensor of another shape
        raise TrainingError(f"the parent adapter in {parent_dir} does not fit: {exc}") from None
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise TrainingError(f"the parent adapter in {parent_dir} does not fit the spec: {unexpected[:3]}")
