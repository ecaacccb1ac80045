"""Orchestration: a trained model directory + its training records -> index -> scores and reports.

The Analyzer wires the pieces (task, featurizer, preconditioner, index, scorer, aggregator, spans) and
owns the checks that make results trustworthy: the training records must be the ones the adapter was
trained on, the index must belong to this adapter, and every query must have something to measure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from worker.attribution.arguments import AttributionArguments
from worker.attribution.gradients import GradientFeaturizer
from worker.attribution.index import INDEX_FORMAT, AttributionIndex, IndexMember, adapter_fingerprint
from worker.attribution.mislabel import mislabel_scores
from worker.attribution.preconditioner import Preconditioner
from worker.attribution.progress import ProgressCallback, stage_tracker
from worker.attribution.tasks import task_for
from worker.errors import AttributionError, OpenLedgerError
from worker.train.artifacts import checkpoint_paths
from worker.train.batches import IGNORE, Example, encode_records
from worker.train.determinism import library_versions, pick_device
from worker.train.modeling import load_trainable_state, load_trained, read_json, trainable_state
from worker.train.records import Record, check_records, record_hash, split_positions


@dataclass(frozen=True)
class MeasuredQuery:
    query: Record  # as measured: a classification query carries the label measured
    features: list[torch.Tensor]  # (1, k) per index member, or one at the final adapter
    measurement: torch.Tensor  # (1,) at the final adapter
    # the final adapter's logits for the query (a classifier's answer); None for a language model
    # attributed per member (its answer was generated before)
    logits: torch.Tensor | None


class Analyzer:
    def __init__(
        self,
        model_dir: str | Path,
        args: AttributionArguments | None = None,
        device: str | None = None,
        loaded: Any = None,
        progress: ProgressCallback | None = None,
    ):
        self.model_dir = Path(model_dir)
        self.progress = progress
        self.args = args or AttributionArguments()
        self.loaded = loaded or load_trained(self.model_dir)
        self.spec = self.loaded.spec
        self.task = task_for(self.spec.task)
        self.device = pick_device(device)
        self.model = self.loaded.model.to(self.device).eval()
        self.featurizer = GradientFeaturizer(
            self.model,
            self.task,
            self.args.features,
            self.loaded.tokenizer.pad_token_id,
            self.device,
            compiled=self.args.score.compile_queries,
        )
        self.members = self._member_states()

    def _member_states(self) -> list[tuple[str, dict[str, torch.Tensor]]]:
        paths = checkpoint_paths(self.model_dir) if self.args.features.checkpoints == "all" else []
        if paths:
            return [(p.stem, load_file(str(p))) for p in paths]
        return [("final", {k: v.cpu() for k, v in trainable_state(self.model).items()})]

    def _each_member(self) -> Iterator[str]:
        """Swap each member's LoRA + head weights into the loaded model in place (tiny tensors, no reload)."""
        loaded_last = False
        try:
            for position, (name, state) in enumerate(self.members):
                load_trainable_state(self.model, state)
                loaded_last = position == len(self.members) - 1
                yield name
        finally:
            if not loaded_last:  # stopped early: leave the final weights in place
                load_trainable_state(self.model, self.members[-1][1])

    def _tracker(self, stage: str, total: int) -> Callable[[int], None] | None:
        return stage_tracker(self.progress, stage, total)

    # -- records -----------------------------------------------------------------------------------

    def split(self, records: Sequence[Record]) -> tuple[list[Record], list[Record]]:
        """The training and validation records of this model, checked against dataset.json."""
        try:
            check_records(records, self.spec.task)
        except OpenLedgerError as exc:
            raise AttributionError(f"training records: {exc}") from exc
        split = split_positions(records, self.spec.validation_fraction)
        train = [records[i] for i in split.train]
        dataset = self.model_dir / "dataset.json"
        if dataset.is_file() and read_json(dataset).get("train") != [record_hash(r) for r in train]:
            raise AttributionError(
                "these training records are not the ones the adapter was trained on "
                f"(record hashes differ from {dataset}); pass the exact training file"
            )
        return train, [records[i] for i in split.validation]

    def encode(self, records: Sequence[Record], what: str) -> list[Example]:
        try:
            return encode_records(
                records, self.loaded.tokenizer, self.spec.task, self.spec.labels, self.spec.max_length
            ).examples
        except OpenLedgerError as exc:
            raise AttributionError(f"{what}: {exc}") from exc

    # -- index ---------------------------------------------------------------------------------------

    def build_index(self, train: Sequence[Record]) -> AttributionIndex:
        examples = self.encode(train, "training records")
        members, advance = [], self._tracker("index", len(examples) * len(self.members))
        for name in self._each_member():
            feats = self.featurizer.featurize(examples, "loss", advance)
            pre = Preconditioner.fit(feats.features, self.args.preconditioner)
            members.append(
                IndexMember(name, feats.features, pre.apply(feats.features), feats.values, pre.damping)
            )
        config = {
            "format": INDEX_FORMAT,
            "fingerprint": adapter_fingerprint(self.model_dir),
            "task": self.spec.task,
            "features": self.args.to_dict()["features"],
            "preconditioner": self.args.to_dict()["preconditioner"],
            "parameters": self.featurizer.projector.total,
            "versions": library_versions(),
        }
        index = AttributionIndex(members, [record_hash(r) for r in train], config)
        if self.spec.task == "classification":
            index.mislabel = mislabel_scores(index)
        return index

    def index(
        self,
        train: Sequence[Record],
        rebuild: bool = False,
        save: bool = True,
        folder: str | Path | None = None,
    ) -> AttributionIndex:
        """Load a saved index that matches (adapter, records, arguments), from the model directory or from
        `folder`, else build one and save it into `folder` (default: the model directory)."""
        target = self.model_dir if folder is None else Path(folder)
        if not rebuild:
            for place in dict.fromkeys((self.model_dir, target)):
                saved = self._saved_index(place, train)
                if saved is not None:
                    return saved
        index = self.build_index(train)
        if save:
            index.save(target)
        return index

    def _saved_index(self, folder: Path, train: Sequence[Record]) -> AttributionIndex | None:
        """The index saved in `folder` if it is this adapter's, of this format, arguments and records. One
        of another adapter is refused in the model directory, and replaced in a folder beside it (an
        earlier run's output, e.g. from before the model was retrained)."""
        try:
            index = AttributionIndex.load(folder, adapter_dir=self.model_dir)
        except AttributionError as exc:
            stale_output = folder != self.model_dir and "built for another adapter" in str(exc)
            if "build one first" not in str(exc) and not stale_output:
                raise
            return None
        wanted = self.args.to_dict()
        current = index.config.get("format") == INDEX_FORMAT
        same_args = all(index.config.get(k) == wanted[k] for k in ("features", "preconditioner"))
        same_records = index.record_hashes == [record_hash(r) for r in train]
        return index if current and same_args and same_records else None

    # -- queries -------------------------------------------------------------------------------------

    @torch.no_grad()
    def logits(self, text: str) -> torch.Tensor:
        enc = self.loaded.tokenizer(
            text, truncation=True, max_length=self.spec.max_length, return_tensors="pt"
        )
        logits: torch.Tensor = self.model(**{k: v.to(self.device) for k, v in enc.items()}).logits[0]
        return logits

    def predict(self, text: str) -> str:
        return self.spec.labels[int(self.logits(text).argmax())]

    def _fill_labels(self, queries: Sequence[Record]) -> list[Record]:
        """Classification queries without a label are measured on the model's own prediction."""
        return [dict(q, label=self.predict(q["text"])) if self._unlabeled(q) else q for q in queries]

    def _unlabeled(self, query: Record) -> bool:
        return self.spec.task == "classification" and query.get("label") is None

    def _check_queries(self, queries: Sequence[Record]) -> None:
        if not queries:
            raise AttributionError("no queries given: pass at least one record to attribute")
        for i, q in enumerate(queries):
            if self.spec.task == "classification" and not isinstance(q.get("text"), str):
                raise AttributionError(f"query {i} has no 'text' to classify")
            if self.spec.task == "generation" and not str(q.get("completion", q.get("text", ""))).strip():
                raise AttributionError(f"query {i} has an empty completion: there is no output to measure")

    def _encode_queries(self, queries: Sequence[Record]) -> list[Example]:
        examples = self.encode(queries, "queries")
        for i, e in enumerate(examples):
            if isinstance(e.target, list) and all(t == IGNORE for t in e.target[1:]):
                raise AttributionError(
                    f"query {i} has no completion tokens left within max_length to measure"
                )
        return examples

    def query_features(
        self, queries: Sequence[Record], stage: str = "queries"
    ) -> tuple[list[torch.Tensor], torch.Tensor, list[Record]]:
        """Measurement features of the queries (one tensor per index member, or a single one taken at the
        final adapter: see ScoreArguments.query_checkpoints), the final model's measurements, and the
        queries as measured (unlabelled classification queries get the model's prediction)."""
        self._check_queries(queries)
        if len(queries) == 1:
            one = self.measure_query(queries[0])
            return one.features, one.measurement, [one.query]
        queries = self._fill_labels(queries)
        examples = self._encode_queries(queries)
        if self._final_only():
            out = self.featurizer.featurize(examples, "measurement", self._tracker(stage, len(examples)))
            return [out.features], out.values, queries
        advance = self._tracker(stage, len(examples) * len(self.members))
        outs = [self.featurizer.featurize(examples, "measurement", advance) for _ in self._each_member()]
        return [o.features for o in outs], outs[-1].values, queries

    def _final_only(self) -> bool:
        return self.args.score.query_checkpoints == "final" or len(self.members) == 1

    def measure_query(self, query: Record) -> MeasuredQuery:
        """One query, the interactive path: a single forward and backward pass (at the final adapter, or
        at every member stacked into one pass). An unlabelled classification query is measured on the
        class that same forward pass predicts, so answering and attributing cost one pass, not two."""
        self._check_queries([query])
        predicted, logits = self._unlabeled(query), None
        final_only, stacked = self._final_only(), self.featurizer.can_stack_members()
        if not (final_only or stacked) and self.spec.task == "classification":
            logits = self.logits(query["text"])  # one pass per member below: the answer needs its own
            if predicted:
                query, predicted = dict(query, label=self.spec.labels[int(logits.argmax())]), False
        placeholder = dict(query, label=self.spec.labels[0]) if predicted else query
        example = self._encode_queries([placeholder])[0]
        project = self.featurizer.projector.project_flat
        if final_only:
            g = self.featurizer.flat_gradient(example, "measurement", predicted)
            features, value, logits = [project(g.flat).cpu()], g.values, g.logits
        elif stacked:
            states = [state for _, state in self.members]
            g = self.featurizer.member_gradients(example, "measurement", states, predicted)
            features, value, logits = [row[None] for row in project(g.flat).cpu()], g.values[-1:], g.logits
        else:
            outs = [self.featurizer.featurize([example], "measurement") for _ in self._each_member()]
            features, value = [o.features for o in outs], outs[-1].values
        if predicted:
            # still True only on the final_only and stacked paths, which both set logits
            assert logits is not None
            query = dict(query, label=self.spec.labels[int(logits.argmax())])
        return MeasuredQuery(query, features, value.cpu(), None if logits is None else logits.cpu())
