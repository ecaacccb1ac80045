"""Proof of Attribution: which training records shaped a model and each of its outputs.

Pure compute: a trained model directory, records and queries in; scores, indexes and reports out. It
never imports chain code. Layout (one idea per module): tasks (loss and measurement per model kind),
progress (stage reports for progress bars), gradients (per-example gradients via torch.func),
projection, preconditioner, index, analyzer (orchestration), stacked (one backward pass for all
checkpoints), mislabel (suspect labels), aggregate (record -> contribution -> contributor), replay
(exact model-level attribution: metagradients through the recorded training run), spans (exact-span
evidence: a suffix-array index saved with the adapter), span_weights (how spans move a receipt's
weights), source_weights (whether an answer has a source record), report, attribute (one-call API).
"""

from worker.attribution.aggregate import Aggregation, aggregate
from worker.attribution.analyzer import Analyzer
from worker.attribution.arguments import (
    AttributionArguments,
    FeatureArguments,
    ModelLevelArguments,
    PreconditionerArguments,
    ScoreArguments,
    SpanArguments,
)
from worker.attribution.attribute import attribute, model_level_scores
from worker.attribution.index import AttributionIndex, adapter_fingerprint
from worker.attribution.mislabel import mislabel_scores
from worker.attribution.progress import ProgressCallback
from worker.attribution.replay import ReplayResult, replay_scores, retrain_with_weights
from worker.attribution.report import AttributionReport
from worker.attribution.span_weights import SpanWeightRule
from worker.attribution.spans import Span, SpanIndex, SpanIndexMismatch

__all__ = [
    "Aggregation",
    "Analyzer",
    "AttributionArguments",
    "AttributionIndex",
    "AttributionReport",
    "FeatureArguments",
    "ModelLevelArguments",
    "ReplayResult",
    "PreconditionerArguments",
    "ProgressCallback",
    "ScoreArguments",
    "Span",
    "SpanArguments",
    "SpanIndex",
    "SpanIndexMismatch",
    "SpanWeightRule",
    "adapter_fingerprint",
    "aggregate",
    "attribute",
    "mislabel_scores",
    "model_level_scores",
    "replay_scores",
    "retrain_with_weights",
]
