"""Many adapters on one base model: one copy of each base's weights, every live adapter swapped into it.

A LoRA adapter (and a classifier's head) is a few MB; its base model is hundreds. So a server keeps one
`SharedBase` per distinct base (`BaseKey`: everything that makes the weights and their layout the same:
the base model's source, task, head size, LoRA rank, alpha, dropout and target modules, dtype, device)
and each loaded model is an `Adapter` on it: its trainable tensors (LoRA matrices + head, the ones
`trainable_state` names), copied into the base's parameters in place before it answers, under the
base's lock. The parameters keep their names and identity, so the gradient featurizer, the stacked
per-checkpoint pass and the attribution index see exactly the model a lone load gives: same numbers.

Why swapping rather than peft's multi-adapter API (`load_adapter` / `set_adapter`): peft names each
adapter's parameters after the adapter (`lora_A.<name>.weight`), while checkpoints, the index's
projector and `trainable_state` are keyed by the names of a lone load (`lora_A.default.weight`); and a
classifier head per adapter would need its own `modules_to_save` copy. The swap is a copy of the
adapter's tensors (1.76 MB for a 135M base, a few ms at most: bench/adapters.py), paid only
when the base switches adapters, and answers on one base are one at a time either way (the forward
pass is the shared resource; peft's `set_adapter` is global to the model too).

`BasePool` hands out adapters and frees a base once no adapter uses it (`release`); which adapters stay
loaded (the LRU and `--max-adapters`) is the catalog's business (catalog.py).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from worker.attribution import Analyzer, AttributionArguments
from worker.attribution.projection import RandomProjector
from worker.errors import TrainingError
from worker.train.catalogue import resolve_base_model
from worker.train.determinism import pick_device
from worker.train.modeling import (
    LoadedModel,
    apply_adapter,
    load_trained,
    trainable_state,
)
from worker.train.spec import TrainingSpec

DTYPE = "float32"  # every base is loaded in fp32 (worker/train/modeling.py)


@dataclass(frozen=True)
class BaseKey:
    """What two adapters must agree on to share one copy of base weights."""

    source: tuple[str, str, str | None]  # catalogue name, directory, GGUF file
    task: str
    head: int  # classifier outputs (0 for a language model)
    lora: tuple[int, int, float, tuple[str, ...]]  # rank, alpha, dropout, target modules (() = default)
    dtype: str
    device: str

    @classmethod
    def of(cls, spec: TrainingSpec, device: torch.device) -> BaseKey:
        source = resolve_base_model(spec.base_model)
        return cls(
            source=(source.name, str(source.directory.resolve()), source.gguf_file),
            task=spec.task,
            head=len(spec.labels) if spec.task == "classification" else 0,
            lora=(spec.lora_r, spec.lora_alpha, spec.lora_dropout, tuple(spec.target_modules)),
            dtype=DTYPE,
            device=str(device),
        )


class SharedBase:
    """One base model in memory (LoRA-wrapped) and whichever adapter's tensors it holds right now."""

    def __init__(self, key: BaseKey, loaded: LoadedModel):
        self.key, self.model, self.tokenizer, self.source = key, loaded.model, loaded.tokenizer, loaded.source
        self.lock = threading.RLock()  # one answer at a time on this base (re-entrant: service + model)
        self.adapters = 0  # adapters the pool has handed out and not released
        self._projectors: dict[tuple[object, ...], RandomProjector] = {}
        # which adapter's tensors are in the parameters; a weak reference, so an evicted one is freed
        self._active: weakref.ref[Adapter] | None = None

    @property
    def active(self) -> Adapter | None:
        return self._active() if self._active is not None else None

    def projector(self, projector: RandomProjector) -> RandomProjector:
        """One projector per configuration on this base: its sketch (or matrix) is a function of the
        tracked parameters' names and shapes, the dimension, kind and seed alone, the same for every
        adapter, and as large as the tracked LoRA tensors themselves."""
        key = (tuple(projector.numels.items()), projector.dim, projector.kind, projector.seed)
        return self._projectors.setdefault(key, projector)

    def hold(self, adapter: Adapter | None) -> None:
        """Record which adapter's tensors are in place (None: unknown, the next answer copies its own)."""
        self._active = weakref.ref(adapter) if adapter is not None else None


class Adapter:
    """One model's place on a shared base: its analyzer (built on the base) and its trainable tensors."""

    def __init__(self, base: SharedBase, analyzer: Analyzer, state: dict[str, torch.Tensor]):
        self.base, self.analyzer, self.state = base, analyzer, state
        params = dict(base.model.named_parameters())
        unknown = [name for name in state if name not in params]
        if unknown:
            raise TrainingError(f"adapter tensors do not fit the shared base (unknown {unknown[:3]})")
        # (parameter, this adapter's value) pairs, resolved once: a switch is then just the copies
        self._copies = [(params[name], value) for name, value in state.items()]

    @property
    def lock(self) -> threading.RLock:
        return self.base.lock

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.state.values())

    def activate(self) -> None:
        """Put this adapter's tensors into the base (a no-op when they are there). Hold `lock`."""
        if self.base.active is not self:
            with torch.no_grad():
                for param, value in self._copies:
                    param.copy_(value)
            self.base.hold(self)

    @contextmanager
    def active(self) -> Iterator[None]:
        with self.base.lock:
            self.activate()
            yield


class BasePool:
    """Base models shared by the adapters loaded on them, each freed when its last adapter is released."""

    def __init__(self, device: str | None = None):
        self.device = pick_device(device)
        self._bases: dict[BaseKey, SharedBase] = {}
        self._lock = threading.Lock()

    @property
    def bases(self) -> list[SharedBase]:
        return list(self._bases.values())

    def load(self, directory: Path, args: AttributionArguments) -> Adapter:
        """The trained model in `directory` as an adapter on its (possibly shared) base."""
        spec_path = directory / "spec.json"
        if not spec_path.is_file() or not (directory / "adapter_model.safetensors").is_file():
            raise TrainingError(f"{directory} is not a trained model directory (needs spec.json and adapter)")
        spec = TrainingSpec.from_json(spec_path.read_text())
        key = BaseKey.of(spec, self.device)
        with self._lock:
            base = self._bases.get(key)
            fresh = base is None
            if base is None:
                base = SharedBase(key, load_trained(directory))  # its own adapter already applied
            with base.lock:
                if not fresh:
                    base.hold(None)  # from here on the parameters hold none of the loaded adapters
                    apply_adapter(base.model, directory, whole=True)
                loaded = LoadedModel(base.model, base.tokenizer, spec, base.source)
                analyzer = Analyzer(directory, args, str(self.device), loaded=loaded)
                analyzer.featurizer.projector = base.projector(analyzer.featurizer.projector)
                adapter = Adapter(base, analyzer, self._state(analyzer))
                base.hold(adapter)
            base.adapters += 1
            self._bases[key] = base
        return adapter

    def _state(self, analyzer: Analyzer) -> dict[str, torch.Tensor]:
        """The adapter's trainable tensors, on the base's device: the analyzer's own copy of the final
        weights when that is its only member, else a copy taken now (right after loading)."""
        if [name for name, _ in analyzer.members] == ["final"]:
            state = analyzer.members[0][1]
        else:
            state = trainable_state(analyzer.model)
        return {name: t.to(self.device) for name, t in state.items()}

    def release(self, adapter: Adapter) -> None:
        """The adapter is no longer served: forget its tensors, and its base once no adapter is left
        (memory returns once answers still running on them finish)."""
        base = adapter.base
        with self._lock:
            base.adapters -= 1
            if base.active is adapter:
                base.hold(None)
            if base.adapters <= 0 and self._bases.get(base.key) is base:
                del self._bases[base.key]
