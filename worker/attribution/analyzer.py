"""Orchestration: a trained model directory + its training records -> index -> scores and reports.

The Analyzer wires the pieces (task, featurizer, preconditioner, index, scorer, aggregator, spans) and
owns the checks that make results trustworthy: the training records must be the ones the adapter was
trained on, the index must belong to this adapter, and every query must have something to measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from worker.attribution.arguments import AttributionArguments
from worker.attribution.gradients import GradientFeaturizer
from worker.attribution.index import INDEX_FORMAT, AttributionIndex, IndexMember, adapter_fingerprint
from worker.attribution.mislabel import mislabel_scores
from worker.attribution.preconditioner import Preconditioner
from worker.attribution.tasks import task_for
from worker.errors import AttributionError, OpenLedgerError
from worker.train.artifacts import checkpoint_paths
from worker.train.batches import IGNORE, Example, encode_records
from worker.train.determinism import library_versions, pick_device
from worker.train.modeling import load_trainable_state, load_trained, read_json, trainable_state
from worker.train.records import Record, check_records, record_hash, split_records


class Analyzer:
    def __init__(
        self,
        model_dir: str | Path,
        args: AttributionArguments | None = None,
        device: str | None = None,
        loaded: Any = None,
    ):
        self.model_dir = Path(model_dir)
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

    def _each_member(self):
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

    # -- records -----------------------------------------------------------------------------------

    def split(self, records: Sequence[Record]) -> tuple[list[Record], list[Record]]:
        """The training and validation records of this model, checked against dataset.json."""
        try:
            check_records(records, self.spec.task)
        except OpenLedgerError as exc:
            raise AttributionError(f"training records: {exc}") from exc
        split = split_records(records, self.spec.validation_fraction)
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
        members = []
        for name in self._each_member():
            feats = self.featurizer.featurize(examples, "loss")
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

    def index(self, train: Sequence[Record], rebuild: bool = False, save: bool = True) -> AttributionIndex:
        """Load the saved index when it matches (adapter, records, arguments), else build and save it."""
        wanted = self.args.to_dict()
        hashes = [record_hash(r) for r in train]
        if not rebuild:
            try:
                index = AttributionIndex.load(self.model_dir)
            except AttributionError as exc:
                if "build one first" not in str(exc):
                    raise
            else:
                current = index.config.get("format") == INDEX_FORMAT
                same_args = all(index.config.get(k) == wanted[k] for k in ("features", "preconditioner"))
                if current and same_args and index.record_hashes == hashes:
                    return index
        index = self.build_index(train)
        if save:
            index.save(self.model_dir)
        return index

    # -- queries -------------------------------------------------------------------------------------

    def _fill_labels(self, queries: Sequence[Record]) -> list[Record]:
        """Classification queries without a label are measured on the model's own prediction."""
        if self.spec.task != "classification":
            return list(queries)
        filled = []
        for q in queries:
            if "label" not in q or q["label"] is None:
                q = dict(q, label=self.predict(q["text"]))
            filled.append(q)
        return filled

    @torch.no_grad()
    def predict(self, text: str) -> str:
        enc = self.loaded.tokenizer(
            text, truncation=True, max_length=self.spec.max_length, return_tensors="pt"
        )
        logits = self.model(**{k: v.to(self.device) for k, v in enc.items()}).logits[0]
        return self.spec.labels[int(logits.argmax())]

    def _check_queries(self, queries: Sequence[Record]) -> None:
        if not queries:
            raise AttributionError("no queries given: pass at least one record to attribute")
        for i, q in enumerate(queries):
            if self.spec.task == "classification" and not isinstance(q.get("text"), str):
                raise AttributionError(f"query {i} has no 'text' to classify")
            if self.spec.task == "generation" and not str(q.get("completion", q.get("text", ""))).strip():
                raise AttributionError(f"query {i} has an empty completion: there is no output to measure")

    def query_features(
        self, queries: Sequence[Record]
    ) -> tuple[list[torch.Tensor], torch.Tensor, list[Record]]:
        """Measurement features of the queries (one tensor per index member, or a single one taken at the
        final adapter: see ScoreArguments.query_checkpoints), the final model's measurements, and the
        queries as measured."""
        self._check_queries(queries)
        queries = self._fill_labels(queries)
        examples = self.encode(queries, "queries")
        for i, e in enumerate(examples):
            if isinstance(e.target, list) and all(t == IGNORE for t in e.target[1:]):
                raise AttributionError(
                    f"query {i} has no completion tokens left within max_length to measure"
                )
        if self.args.score.query_checkpoints == "final" or len(self.members) == 1:
            return *self._final_features(examples), queries
        if len(examples) == 1 and self.featurizer.can_stack_members():
            feats, measurements = self._stacked_query_features(examples[0])
            return feats, measurements, queries
        feats, measurements = [], None
        for _ in self._each_member():
            out = self.featurizer.featurize(examples, "measurement")
            feats.append(out.features)
            measurements = out.values
        return feats, measurements, queries

    def _final_features(self, examples: Sequence[Example]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Gradients at the final adapter (the weights the model holds outside `_each_member`) only."""
        if len(examples) > 1:
            out = self.featurizer.featurize(examples, "measurement")
            return [out.features], out.values
        flat, value = self.featurizer.flat_gradient(examples[0], "measurement")
        return [self.featurizer.projector.project_flat(flat[None]).cpu()], value.reshape(1).cpu()

    def _stacked_query_features(self, example: Example) -> tuple[list[torch.Tensor], torch.Tensor]:
        """One query at every member in one stacked forward/backward pass, one projection."""
        flats, values = self.featurizer.member_gradients(
            example, "measurement", [state for _, state in self.members]
        )
        projected = self.featurizer.projector.project_flat(flats).cpu()
        return [row[None] for row in projected], values[-1].reshape(1).cpu()
