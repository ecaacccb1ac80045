"""Every knob of the attribution engine, as dataclasses with defaults; all of them go into each report."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from worker.errors import AttributionError

PROJECTION_KINDS = ("sketch", "rademacher", "gaussian")
MODEL_LEVEL_METHODS = ("replay", "gradients")


@dataclass(frozen=True)
class FeatureArguments:
    # Random projection of per-example gradients to this many dimensions (0 keeps full gradients).
    projection_dim: int = 1024
    projection_kind: str = "sketch"  # balanced count sketch; or the dense "rademacher" / "gaussian"
    projection_seed: int = 0
    batch_size: int = 16
    # Include the classifier head (modules_to_save) next to the LoRA matrices.
    include_head: bool = True
    # Share of the LoRA-adapted blocks, from the top, whose LoRA matrices are features (to the nearest
    # block, at least one; 1.0: every block; 0: the head alone). The query's backward pass stops at the
    # lowest tracked block, so this sets the cost of attributing an answer. Every block: chosen across
    # three tasks by leave-one-task-out validation (bench/attribution_tasks.py: mean label-controlled LDS
    # 0.410 against 0.384 for a third and 0.373 for a sixth, with every-checkpoint queries); a third
    # was the default when one task (tweets) chose it. docs/BENCHMARKS.md#across-tasks has every figure.
    lora_layers: float = 1.0
    # "all": ensemble over every per-epoch checkpoint saved in training; "final": the adapter alone.
    checkpoints: str = "all"


@dataclass(frozen=True)
class PreconditionerArguments:
    # Damping rule: lambda = damping_ratio * mean eigenvalue of the feature second moment Phi^T Phi / n.
    # Scale-free, so the same ratio carries across model sizes, projections and checkpoints. Chosen across
    # three tasks by leave-one-task-out validation (bench/attribution_tasks.py): 3 has the best mean
    # (0.410 against 0.387 for 30 and 0.276 for 300, every block, every-checkpoint queries); 30 wins on
    # tweets alone (0.483 against 0.452), where it was first chosen, and loses on film reviews and news
    # headlines. Plain dot products (no preconditioner) are far behind on every task.
    damping_ratio: float = 3.0


@dataclass(frozen=True)
class ScoreArguments:
    top_k: int = 10
    # A record/contribution is flagged when its score is below -negative_flag_z * std of all scores.
    negative_flag_z: float = 3.0
    # Where a query's gradient is taken (the index is the same either way):
    # "all": at every checkpoint, each scored against its own checkpoint's features (TracIn-CP pairing):
    #   one stacked pass over all checkpoints. The default: every one of the top six knob settings across
    #   three tasks queries every checkpoint (bench/attribution_tasks.py; mean label-controlled LDS 0.410
    #   against 0.273 for the best setting that queries the final adapter alone), at about twice its cost.
    # "final": at the final adapter, the model that answered the query: one backward pass, scored against
    #   the mean over checkpoints of the preconditioned training features. Faster, less accurate.
    query_checkpoints: str = "all"
    # Run the one-query forward/backward through torch.compile: ~1.4x faster per query on CPU after a
    # one-off compilation (~15-50 s on first use, so for long-running servers, not one-shot commands).
    # It compiles the final-adapter step only: with "all" on a model whose checkpoints stack into one
    # pass, queries run that stacked pass eagerly.
    compile_queries: bool = False


@dataclass(frozen=True)
class SpanArguments:
    min_words: int = 4  # shortest exact word n-gram reported as evidence
    max_spans: int = 20


@dataclass(frozen=True)
class ModelLevelArguments:
    # How each training record's effect on the model (the mean validation measurement, which posts a
    # job's root and pays training rewards) is computed:
    # "replay": exact, the metagradient through the recorded training run (worker/attribution/replay.py):
    #   it predicts fixed-seed leave-subset-out retrains (docs/BENCHMARKS.md) at a few times the cost of
    #   training, and checks on the way that the adapter is the one the records, spec and parent train.
    # "gradients": the index's influence scores averaged over the validation records (approximate, fast;
    #   what reports made before "replay" existed used).
    method: str = "replay"


@dataclass(frozen=True)
class AttributionArguments:
    features: FeatureArguments = field(default_factory=FeatureArguments)
    preconditioner: PreconditionerArguments = field(default_factory=PreconditionerArguments)
    score: ScoreArguments = field(default_factory=ScoreArguments)
    span: SpanArguments = field(default_factory=SpanArguments)
    model_level: ModelLevelArguments = field(default_factory=ModelLevelArguments)

    def __post_init__(self) -> None:
        f = self.features
        if f.projection_dim < 0 or f.batch_size < 1:
            raise AttributionError("projection_dim must be >= 0 and batch_size >= 1")
        if not 0 <= f.lora_layers <= 1:
            raise AttributionError(f"lora_layers must be a share between 0 and 1, got {f.lora_layers}")
        if f.lora_layers == 0 and not f.include_head:
            raise AttributionError("lora_layers 0 without the head leaves no parameters to attribute through")
        if f.projection_kind not in PROJECTION_KINDS:
            raise AttributionError(f"projection_kind {f.projection_kind!r} is not one of {PROJECTION_KINDS}")
        if f.checkpoints not in ("all", "final"):
            raise AttributionError(f"checkpoints {f.checkpoints!r} is not 'all' or 'final'")
        if self.score.query_checkpoints not in ("all", "final"):
            raise AttributionError(
                f"query_checkpoints {self.score.query_checkpoints!r} is not 'all' or 'final'"
            )
        if self.model_level.method not in MODEL_LEVEL_METHODS:
            raise AttributionError(
                f"model-level method {self.model_level.method!r} is not one of {MODEL_LEVEL_METHODS}"
            )
        if self.preconditioner.damping_ratio <= 0:
            raise AttributionError("damping_ratio must be > 0 (it keeps the inverse well conditioned)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttributionArguments:
        # Arguments recorded before `lora_layers` existed (indexes and reports) tracked every LoRA block;
        # those from before `query_checkpoints` took each query's gradient at every checkpoint; those
        # from before `model_level` took the model level from the gradients.
        features = {"lora_layers": 1.0, **data.get("features", {})}
        score = {"query_checkpoints": "all", **data.get("score", {})}
        model_level = {"method": "gradients", **data.get("model_level", {})}
        return cls(
            features=FeatureArguments(**features),
            preconditioner=PreconditionerArguments(**data.get("preconditioner", {})),
            score=ScoreArguments(**score),
            span=SpanArguments(**data.get("span", {})),
            model_level=ModelLevelArguments(**model_level),
        )
