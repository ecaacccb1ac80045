"""The attribution index: projected (and preconditioned) training gradients, saved beside the adapter.

`attribution_index.safetensors` holds, per ensemble member (checkpoint), the features Phi, the
preconditioned features Phi (F + lambda I)^-1 and the training losses, plus the records' mislabel
scores for classifiers; `attribution_index.json` holds
the arguments, the dampings, the record hashes in index order and the fingerprint of the adapter files
it was built from. Loading against a different adapter is refused (AttributionError).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from worker.canonical import canonical_json
from worker.errors import AttributionError
from worker.files import atomic_save, atomic_write
from worker.train.artifacts import checkpoint_paths

INDEX_TENSORS = "attribution_index.safetensors"
INDEX_CONFIG = "attribution_index.json"
# Bumped whenever an index gains or changes what it stores (2: classification indexes carry mislabel
# scores); a saved index of another format is rebuilt rather than read with fields missing.
INDEX_FORMAT = 2


def adapter_fingerprint(model_dir: str | Path) -> str:
    """sha256 over the spec, adapter weights and checkpoints: what the index's features depend on."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    files = [model_dir / "spec.json", model_dir / "adapter_model.safetensors", *checkpoint_paths(model_dir)]
    for path in files:
        if not path.is_file():
            raise AttributionError(f"{model_dir} is not a trained model directory: {path.name} is missing")
        digest.update(path.relative_to(model_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass
class IndexMember:
    name: str
    features: torch.Tensor  # (n, k) projected training-loss gradients
    preconditioned: torch.Tensor  # (n, k)
    losses: torch.Tensor  # (n,)
    damping: float


@dataclass
class AttributionIndex:
    members: list[IndexMember]
    record_hashes: list[str]
    config: dict[str, Any] = field(default_factory=dict)
    # (n,) per record, higher = more likely mislabelled (classification; see mislabel.py), else None
    mislabel: torch.Tensor | None = None
    _mean: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.record_hashes)

    def scores(self, query_features: list[torch.Tensor]) -> torch.Tensor:
        """(q, n): the change in each query's measurement from including each record, member-averaged.

        `query_features`: one (q, k) tensor per member (each scored against its own member), or a single
        one, scored against every member (the mean of their preconditioned features).

        Influence of up-weighting record i on f: -grad f^T H^-1 grad L_i, so the minus sign makes a
        record that pushes the measurement up (helps the output) score positive.
        """
        if len(query_features) == 1:  # one gradient (at the final adapter) against every member
            return -(query_features[0] @ self.mean_preconditioned().T)
        if len(query_features) != len(self.members):
            raise AttributionError("query features do not match the index's ensemble members")
        total = torch.zeros(query_features[0].shape[0], self.size)
        for member, q in zip(self.members, query_features, strict=True):
            total -= q @ member.preconditioned.T
        return total / len(self.members)

    def mean_preconditioned(self) -> torch.Tensor:
        """(n, k): the members' preconditioned features averaged, computed once and kept."""
        if self._mean is None:
            self._mean = torch.stack([m.preconditioned for m in self.members]).mean(0)
        return self._mean

    def self_influence(self) -> torch.Tensor:
        """g_i^T (F + lambda I)^-1 g_i per record: high for records the model finds surprising."""
        return torch.stack([(m.features * m.preconditioned).sum(1) for m in self.members]).mean(0)

    def mean_loss(self) -> torch.Tensor:
        return torch.stack([m.losses for m in self.members]).mean(0)

    def save(self, model_dir: str | Path) -> None:
        model_dir = Path(model_dir)
        tensors: dict[str, torch.Tensor] = {}
        for i, m in enumerate(self.members):
            tensors[f"{i}.features"] = m.features.contiguous()
            tensors[f"{i}.preconditioned"] = m.preconditioned.contiguous()
            tensors[f"{i}.losses"] = m.losses.contiguous()
        if self.mislabel is not None:
            tensors["mislabel"] = self.mislabel.contiguous()
        config = dict(
            self.config,
            record_hashes=self.record_hashes,
            members=[{"name": m.name, "damping": m.damping} for m in self.members],
        )
        atomic_save(model_dir / INDEX_TENSORS, lambda p: save_file(tensors, str(p)))
        atomic_write(model_dir / INDEX_CONFIG, canonical_json(config) + b"\n")

    @classmethod
    def load(cls, model_dir: str | Path, adapter_dir: str | Path | None = None) -> AttributionIndex:
        """The index saved in `model_dir`, checked against the adapter in `adapter_dir` (default: the same
        directory; another one for an index saved beside the model, e.g. by `openledger attribute`)."""
        model_dir = Path(model_dir)
        config_path, tensors_path = model_dir / INDEX_CONFIG, model_dir / INDEX_TENSORS
        if not config_path.is_file() or not tensors_path.is_file():
            raise AttributionError(f"no attribution index in {model_dir}; build one first")
        config = json.loads(config_path.read_text())
        expected = adapter_fingerprint(model_dir if adapter_dir is None else adapter_dir)
        if config.get("fingerprint") != expected:
            raise AttributionError(
                f"the attribution index in {model_dir} was built for another adapter "
                f"(fingerprint {str(config.get('fingerprint'))[:12]}..., adapter {expected[:12]}...); "
                "rebuild it"
            )
        tensors = load_file(str(tensors_path))
        members = [
            IndexMember(
                info["name"],
                tensors[f"{i}.features"],
                tensors[f"{i}.preconditioned"],
                tensors[f"{i}.losses"],
                info["damping"],
            )
            for i, info in enumerate(config.pop("members"))
        ]
        return cls(
            members=members,
            record_hashes=config.pop("record_hashes"),
            config=config,
            mislabel=tensors.get("mislabel"),
        )
