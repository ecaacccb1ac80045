"""Build the LoRA-wrapped model for a spec, and load a trained adapter back for attribution/serving."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from worker.errors import TrainingError
from worker.train.catalogue import ModelSource, default_target_modules, resolve_base_model
from worker.train.spec import TrainingSpec


@dataclass
class LoadedModel:
    model: Any  # a peft.PeftModel
    tokenizer: Any
    spec: TrainingSpec
    source: ModelSource


# Inside `reusing_bases()`, the last base model (and tokenizer) this thread loaded is kept pristine so that
# its next build of the same base is a copy instead of a reload: a GGUF base (smollm2-135m) takes ~45 s to
# parse and dequantise, and a job builds its base three times (training, replay, index), as does every
# retrain of a benchmark. Per thread (a server's threads neither see nor evict a job's copy), one entry,
# at most KEEP_BASE_MAX_BYTES of parameters, dropped when the outermost block ends: a server, which builds
# each base once and keeps it, never holds a spare.
KEEP_BASE_MAX_BYTES = 2 * 2**30
_kept = threading.local()


def _reusing() -> int:
    return int(getattr(_kept, "depth", 0))


@contextmanager
def reusing_bases() -> Iterator[None]:
    """This thread's builds of one base inside this block load it once and copy it after (see above)."""
    if not _reusing():
        _kept.bases, _kept.tokenizers = {}, {}
    _kept.depth = _reusing() + 1
    try:
        yield
    finally:
        _kept.depth -= 1
        if not _kept.depth:
            _kept.bases, _kept.tokenizers = {}, {}


def _source_key(source: ModelSource, *extra: object) -> tuple[object, ...]:
    """Names the base's files as they are now (inode, size, mtime and ctime, which no copy tool sets),
    so a directory changed on disk between two builds is loaded again rather than served from the copy."""
    try:
        files = sorted(p for p in Path(source.directory).iterdir() if p.is_file())
        stats = [(p.name, *_stat(p)) for p in files]
    except OSError as exc:
        raise TrainingError(f"cannot read base model {source.name!r} at {source.directory}: {exc}") from exc
    return (str(source.directory), source.gguf_file, *extra, *stats)


def _stat(path: Path) -> tuple[int, int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def load_tokenizer(source: ModelSource) -> Any:
    if not _reusing():
        return _load_tokenizer(source)
    key = _source_key(source)
    kept: dict[tuple[object, ...], Any] = _kept.tokenizers
    if key not in kept:
        kept.clear()
        kept[key] = _load_tokenizer(source)
    return copy.deepcopy(kept[key])


def _load_tokenizer(source: ModelSource) -> Any:
    from transformers import AutoTokenizer

    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source.directory), **kwargs)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot load the tokenizer of base model {source.name!r}: {exc}") from exc
    if tokenizer.pad_token is None:
        # Decoder-only models often have no pad token; padding is masked out so eos is a safe stand-in.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _base_model(source: ModelSource, spec: TrainingSpec, pad_token_id: int | None) -> Any:
    """The base model for a spec, copied from the last one loaded when it is the same. Only a load that
    drew no random numbers is kept: then a copy is exactly what loading again would give, and leaves
    the generator where loading would (a classifier's new head is drawn while loading, so it is not)."""
    if not _reusing():
        return _load_base(source, spec, pad_token_id)
    key = _source_key(source, spec.task, len(spec.labels), pad_token_id)
    kept: dict[tuple[object, ...], Any] = _kept.bases
    if key in kept:
        return copy.deepcopy(kept[key])
    before = torch.random.get_rng_state()
    model = _load_base(source, spec, pad_token_id)
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    if torch.equal(before, torch.random.get_rng_state()) and size <= KEEP_BASE_MAX_BYTES:
        kept.clear()
        kept[key] = copy.deepcopy(model)  # pristine: the caller wraps the one returned in LoRA
    return model


def _load_base(source: ModelSource, spec: TrainingSpec, pad_token_id: int | None) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    # The "newly initialised classifier" notice is expected (that head is what we train): keep it quiet.
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated

    # eager attention: deterministic and torch.func-friendly; fp32 everywhere (GGUF is dequantised to it)
    kwargs: dict[str, Any] = {"attn_implementation": "eager", "dtype": torch.float32}
    if source.gguf_file:
        kwargs["gguf_file"] = source.gguf_file
    try:
        if spec.task == "classification":
            model = AutoModelForSequenceClassification.from_pretrained(
                str(source.directory), num_labels=len(spec.labels), **kwargs
            )
            if model.config.pad_token_id is None:
                model.config.pad_token_id = pad_token_id
        else:
            model = AutoModelForCausalLM.from_pretrained(str(source.directory), **kwargs)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot load base model {source.name!r}: {exc}") from exc
    return model


def build_model(spec: TrainingSpec) -> LoadedModel:
    """Base model + fresh LoRA adapter (and classifier head), initialised from the spec's seed."""
    from peft import LoraConfig, TaskType, get_peft_model

    if spec.task == "classification" and len(spec.labels) < 2:
        raise TrainingError("classification needs the label list in the spec (at least 2 labels)")
    source = resolve_base_model(spec.base_model)
    tokenizer = load_tokenizer(source)
    torch.manual_seed(spec.seed)  # the classifier head and LoRA A matrices are drawn here
    base = _base_model(source, spec, tokenizer.pad_token_id)
    targets = spec.target_modules or default_target_modules(base.config.model_type)
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS if spec.task == "classification" else TaskType.CAUSAL_LM,
        r=spec.lora_r,
        lora_alpha=spec.lora_alpha,
        lora_dropout=spec.lora_dropout,
        target_modules=list(targets),
    )
    try:
        model = get_peft_model(base, config)
    except ValueError as exc:
        raise TrainingError(f"LoRA target modules {list(targets)} do not fit {source.name!r}: {exc}") from exc
    return LoadedModel(model=model, tokenizer=tokenizer, spec=spec, source=source)


def load_trained(adapter_dir: str | Path) -> LoadedModel:
    """Rebuild base + adapter from a directory written by `train` (spec.json + adapter safetensors)."""
    adapter_dir = Path(adapter_dir)
    spec_path = adapter_dir / "spec.json"
    weights = adapter_dir / "adapter_model.safetensors"
    if not spec_path.is_file() or not weights.is_file():
        raise TrainingError(f"{adapter_dir} is not a trained model directory (needs spec.json and adapter)")
    spec = TrainingSpec.from_json(spec_path.read_text())
    loaded = build_model(spec)
    apply_adapter(loaded.model, adapter_dir)
    loaded.model.eval()
    return loaded


def apply_adapter(model: Any, adapter_dir: str | Path, whole: bool = False) -> None:
    """Load a trained adapter's weights (adapter_model.safetensors) into a LoRA-wrapped model of its spec.
    `whole`: also require the file to hold every tensor the model's adapter has, so that no weight of
    whatever adapter was loaded before survives (a base shared by many adapters, serve/adapters.py)."""
    from peft import get_peft_model_state_dict, set_peft_model_state_dict
    from safetensors.torch import load_file

    adapter_dir = Path(adapter_dir)
    weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    if whole:
        absent = sorted(set(get_peft_model_state_dict(model)) - set(weights))
        if absent:
            raise TrainingError(f"adapter in {adapter_dir} lacks tensors of its spec: {absent[:3]}")
    result = set_peft_model_state_dict(model, weights)
    unexpected = getattr(result, "unexpected_keys", None)  # peft annotates a bare `namedtuple`
    if unexpected:
        raise TrainingError(f"adapter in {adapter_dir} does not match its spec: {unexpected[:3]}")


def trainable_state(model: Any) -> dict[str, torch.Tensor]:
    """The parameters training changes (LoRA + head), detached copies keyed by parameter name."""
    return {n: p.detach().clone().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: Any, state: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    missing = [n for n in state if n not in params]
    if missing:
        raise TrainingError(f"checkpoint does not fit this model (unknown parameters {missing[:3]})")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data
