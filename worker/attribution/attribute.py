"""One call from (model directory, training records, queries) to a complete AttributionReport."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from worker.attribution.aggregate import aggregate
from worker.attribution.analyzer import Analyzer
from worker.attribution.arguments import AttributionArguments
from worker.attribution.index import AttributionIndex
from worker.attribution.progress import ProgressCallback
from worker.attribution.replay import replay_scores
from worker.attribution.report import AttributionReport, mislabel_rows, rounded, top_k
from worker.attribution.spans import SpanIndex
from worker.data.schema import record_text
from worker.train.determinism import library_versions
from worker.train.modeling import reusing_bases
from worker.train.records import Record, record_hash


def _record_rows(train: Sequence[Record]) -> list[dict[str, Any]]:
    return [
        {"hash": record_hash(r), "contributor": r.get("contributor"), "contribution": r.get("contribution")}
        for r in train
    ]


def _query_rows(
    analyzer: Analyzer,
    measured: Sequence[Record],
    measurements: torch.Tensor,
    scores: torch.Tensor,
    train: Sequence[Record],
    spans: SpanIndex | None,
) -> list[dict[str, Any]]:
    rows = []
    for q, value, top in zip(
        measured, measurements.tolist(), top_k(scores, analyzer.args.score.top_k), strict=True
    ):
        row: dict[str, Any] = {"hash": record_hash(q), "measurement": float(f"{value:.7g}"), "top": top}
        if "label" in q:
            row["label"] = str(q["label"])
        if spans is not None:
            found = spans.find(str(q.get("completion", q.get("text", ""))))
            row["spans"] = [
                dict(s.to_dict(), contribution=train[s.record].get("contribution")) for s in found
            ]
        rows.append(row)
    return rows


def span_index(
    analyzer: Analyzer, train: Sequence[Record], folder: str | Path | None = None, rebuild: bool = False
) -> SpanIndex | None:
    """A language model's span index over its training records (saved beside the attribution index, in
    the model directory unless `folder` is given); None for classifiers."""
    if analyzer.spec.task != "generation":
        return None
    texts, hashes = [record_text(r) for r in train], [record_hash(r) for r in train]
    return SpanIndex.for_model(analyzer.model_dir, texts, hashes, analyzer.args.span, folder, rebuild)


def model_level_scores(
    analyzer: Analyzer, index: AttributionIndex, validation: Sequence[Record]
) -> torch.Tensor:
    """Each training record's influence on the mean validation measurement (linear in the queries)."""
    feats, _, _ = analyzer.query_features(validation, stage="validation")
    return index.scores(feats).mean(0)


def _model_level(
    analyzer: Analyzer,
    index: AttributionIndex,
    records: Sequence[Record],
    validation: Sequence[Record],
    parent_dir: Path | None,
    progress: ProgressCallback | None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Model-level scores by the method the arguments name, and what the report records about it."""
    if analyzer.args.model_level.method == "gradients":
        return model_level_scores(analyzer, index, validation), {"method": "gradients"}
    replayed = replay_scores(
        analyzer.model_dir, records, validation, parent_dir, str(analyzer.device), progress=progress
    )
    return replayed.scores, {"method": "replay", "steps": replayed.steps}


@reusing_bases()  # the index and the replay build the same base
def attribute(
    model_dir: str | Path,
    records: Sequence[Record],
    queries: Sequence[Record],
    args: AttributionArguments | None = None,
    device: str | None = None,
    rebuild_index: bool = False,
    with_model_level: bool = True,
    progress: ProgressCallback | None = None,
    index_dir: str | Path | None = None,
    parent_dir: Path | None = None,
) -> AttributionReport:
    """Scores of every query against every training record, aggregated per contribution/contributor.
    `progress(stage, done, total)` follows the long passes (see analyzer.ProgressCallback). A matching
    index saved in the model directory or in `index_dir` is reused; one built is saved into `index_dir`
    (default: the model directory). `parent_dir`: a derived model's parent adapter bundle, which the
    model-level replay starts from."""
    analyzer = Analyzer(model_dir, args, device, progress=progress)
    train, validation = analyzer.split(records)
    index = analyzer.index(train, rebuild=rebuild_index, folder=index_dir)
    query_feats, measurements, measured = analyzer.query_features(queries)
    scores = index.scores(query_feats)
    z = analyzer.args.score.negative_flag_z
    model_level = None
    if with_model_level and validation:
        level, method = _model_level(analyzer, index, records, validation, parent_dir, progress)
        model_level = {
            **method,
            "validation_records": len(validation),
            "scores": rounded(level),
            **aggregate(level, train, z).to_dict(),
        }
    rows = _record_rows(train)
    return AttributionReport(
        model={
            "fingerprint": index.config["fingerprint"],
            "spec_sha256": analyzer.spec.sha256(),
            "base_model": analyzer.spec.base_model,
            "task": analyzer.spec.task,
            "ensemble": [m.name for m in index.members],
            "dampings": [m.damping for m in index.members],
        },
        arguments=analyzer.args.to_dict(),
        seeds={"training": analyzer.spec.seed, "projection": analyzer.args.features.projection_seed},
        versions=library_versions(),
        records=rows,
        queries=_query_rows(
            analyzer,
            measured,
            measurements,
            scores,
            train,
            span_index(analyzer, train, index_dir, rebuild_index),
        ),
        scores=rounded(scores),
        summary=aggregate(scores.sum(0), train, z).to_dict(),
        model_level=model_level,
        self_influence=rounded(index.self_influence()),
        mislabel=mislabel_rows(rounded(index.mislabel), rows) if index.mislabel is not None else [],
    )
