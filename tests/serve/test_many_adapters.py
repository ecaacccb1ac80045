"""Many adapters on one base model (worker/serve/adapters.py): one copy of the base in memory, and every
adapter answering, in any interleaving and from any thread, exactly as it does loaded alone.

The adapters are tiny (tests/tinymodels.py): three classifiers and two language models, each pair of a
base trained on other records and seeds, plus a classifier of another LoRA rank that needs a base of
its own. No chain: the catalog test gives the catalog a stand-in for the registry reads it makes.
"""

from __future__ import annotations

import gc
import json
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from paidmodel import make_service, second_live_model
from tinymodels import generation_records, sentiment_records

from worker.attribution import (
    Analyzer,
    AttributionArguments,
    AttributionIndex,
    AttributionReport,
    FeatureArguments,
    attribute,
)
from worker.canonical import canonical_json
from worker.chain.types import Model, ModelStatus
from worker.serve.adapters import BaseKey, BasePool
from worker.serve.catalog import ModelCatalog
from worker.serve.explain import model_level_masses, record_owners
from worker.serve.loading import answer_arguments
from worker.serve.served_model import Answer, ServedModel
from worker.storage import LocalStore, add_directory
from worker.train import TrainingSpec, train

ARGS = AttributionArguments(features=FeatureArguments(projection_dim=32))
TEXTS = ["good great happy", "bad awful sad", "love nice item 3", "hate grim poor item 7"]
PROMPTS = ["question 1:", "question 4:"]


@dataclass(frozen=True)
class Bundle:
    """A trained adapter directory with its attribution index and report, as a model bundle holds."""

    directory: Path
    task: str

    def served(self, model_id: int, bases: BasePool | None) -> ServedModel:
        """The model as `load_served_model` builds it; without a pool, the way a lone model was loaded
        before bases were shared (its own Analyzer, hence its own base)."""
        index = AttributionIndex.load(self.directory)
        args = answer_arguments(index)
        report = AttributionReport.from_dict(json.loads((self.directory / "report.json").read_text()))
        owners, fallback = record_owners(report, index.record_hashes), model_level_masses(report)
        if bases is None:
            analyzer, adapter = Analyzer(self.directory, args), None
        else:
            adapter = bases.load(self.directory, args)
            analyzer = adapter.analyzer
        return ServedModel(
            model_id, f"cid-{model_id}", analyzer, index, owners, fallback, adapter=adapter
        )


def _bundle(base: Path, task: str, seed: int, folder: Path, lora_r: int = 8) -> Bundle:
    if task == "classification":
        records = sentiment_records(24, seed=seed)
        extra = {"labels": ("neg", "pos"), "max_length": 16, "batch_size": 8}
    else:
        records = generation_records(8 + seed)
        extra = {"max_length": 24, "batch_size": 4}
    for r in records:  # contributors with addresses, so that answers carry payable weights
        r["contributor"] = "0x" + f"{int(r['contributor'][1:]) + 1:040x}"
    spec = TrainingSpec(
        base_model=str(base), task=task, epochs=2, lr=1e-2, seed=seed, lora_r=lora_r,
        validation_fraction=0.25, **extra,
    )  # fmt: skip
    train(spec, records, folder)
    report = attribute(folder, records, records[:1], args=ARGS)
    (folder / "report.json").write_text(json.dumps(report.to_dict()))
    return Bundle(folder, task)


@pytest.fixture(scope="module")
def bundles(tiny_bert, tiny_llama, tmp_path_factory) -> dict[str, Bundle]:
    root = tmp_path_factory.mktemp("adapters")
    return {
        "cls0": _bundle(tiny_bert, "classification", 0, root / "cls0"),
        "cls1": _bundle(tiny_bert, "classification", 1, root / "cls1"),
        "cls2": _bundle(tiny_bert, "classification", 2, root / "cls2"),
        "rank4": _bundle(tiny_bert, "classification", 3, root / "rank4", lora_r=4),
        "lm0": _bundle(tiny_llama, "generation", 0, root / "lm0"),
        "lm1": _bundle(tiny_llama, "generation", 1, root / "lm1"),
    }


def _ask(served: ServedModel) -> list[Answer]:
    if served.task == "classification":
        return [served.classify(t) for t in TEXTS]
    return [served.complete(p, 6) for p in PROMPTS]


def _features(served: ServedModel) -> list[torch.Tensor]:
    """The raw per-answer attribution features (before scoring, weights and rounding)."""
    queries = [{"text": t} for t in TEXTS] if served.task == "classification" else [
        {"prompt": p, "completion": " the answer is good"} for p in PROMPTS
    ]  # fmt: skip
    with served._answering():
        return [f for q in queries for f in served.analyzer.measure_query(q).features]


@pytest.fixture(scope="module")
def alone(bundles) -> dict[str, tuple[list[Answer], list[torch.Tensor]]]:
    """Every adapter's answers and attribution features, loaded alone (a fresh base each)."""
    out = {}
    for name, bundle in bundles.items():
        served = bundle.served(1, None)
        out[name] = (_ask(served), _features(served))
        del served
    gc.collect()
    return out


def _same(served: ServedModel, expected: tuple[list[Answer], list[torch.Tensor]]) -> None:
    answers, features = expected
    assert any(a.attribution.weights_ppm for a in answers)
    assert _ask(served) == answers  # outputs, receipt contributors, weights (ppm) and evidence
    for got, want in zip(_features(served), features, strict=True):
        assert torch.equal(got, want)


def _base_storage(served: ServedModel) -> set[int]:
    """Where the frozen (base) weights of the model live."""
    return {p.data_ptr() for p in served.analyzer.model.parameters() if not p.requires_grad}


def test_adapters_of_one_base_share_one_copy_and_answer_as_alone(bundles, alone) -> None:
    pool = BasePool()
    served = {name: b.served(i + 1, pool) for i, (name, b) in enumerate(bundles.items())}
    assert len(pool.bases) == 3  # tiny BERT at rank 8, tiny BERT at rank 4, tiny Llama
    for group in (("cls0", "cls1", "cls2"), ("lm0", "lm1")):
        models = [served[n].analyzer.model for n in group]
        assert all(m is models[0] for m in models)
        assert len({frozenset(_base_storage(served[n])) for n in group}) == 1
        assert len({served[n].adapter.base for n in group}) == 1  # type: ignore[union-attr]
        assert len({id(served[n].analyzer.featurizer.projector) for n in group}) == 1
    assert served["rank4"].analyzer.model is not served["cls0"].analyzer.model
    assert not _base_storage(served["rank4"]) & _base_storage(served["cls0"])
    # interleaved: every switch of adapter on a base swaps its tensors in
    for name in ["cls2", "lm1", "cls0", "cls1", "lm0", "rank4", "cls0", "lm1", "cls2", "cls1"]:
        _same(served[name], alone[name])


def test_threads_asking_different_adapters_get_their_own_answers(bundles, alone) -> None:
    pool = BasePool()
    served = {name: b.served(i + 1, pool) for i, (name, b) in enumerate(bundles.items())}
    names = [n for n in bundles for _ in range(3)]
    with ThreadPoolExecutor(max_workers=6) as threads:
        results = list(threads.map(lambda n: (n, _ask(served[n])), names[::-1] + names))
    for name, answers in results:
        assert answers == alone[name][0]


def test_a_released_adapter_is_freed_and_the_base_with_its_last_adapter(bundles, alone) -> None:
    pool = BasePool()
    first, second = bundles["cls0"].served(1, pool), bundles["cls1"].served(2, pool)
    assert first.adapter is not None and second.adapter is not None
    base_model = weakref.ref(first.analyzer.model)
    state = weakref.ref(next(iter(first.adapter.state.values())))
    pool.release(first.adapter)
    del first
    gc.collect()
    assert state() is None and base_model() is not None and len(pool.bases) == 1
    _same(second, alone["cls1"])
    again = bundles["cls0"].served(1, pool)  # loaded again onto the same base: same answers
    assert again.analyzer.model is second.analyzer.model
    _same(again, alone["cls0"])
    for s in (second, again):
        assert s.adapter is not None
        pool.release(s.adapter)
    del second, again, s
    gc.collect()
    assert base_model() is None and pool.bases == []


def test_base_key_separates_what_changes_the_weights(bundles) -> None:
    spec = TrainingSpec.from_json((bundles["cls0"].directory / "spec.json").read_text())
    cpu = torch.device("cpu")
    key = BaseKey.of(spec, cpu)
    assert BaseKey.of(spec.replace(seed=9, lr=0.5, max_length=8), cpu) == key  # training knobs: shared
    for other in (
        spec.replace(lora_r=4),
        spec.replace(lora_alpha=8),
        spec.replace(target_modules=("query",)),
        spec.replace(labels=("a", "b", "c")),
        spec.replace(task="generation", labels=()),
    ):
        assert BaseKey.of(other, cpu) != key
    assert BaseKey.of(spec, torch.device("meta")) != key


# -- the catalog: loading on demand, LRU, --max-adapters ------------------------------------------------


class _Registry:
    """The ModelRegistry reads ModelCatalog makes, for live classifiers published to a local store."""

    def __init__(self, store: LocalStore, bundles: list[Bundle], address: str):
        self.address, self.rows = address, []
        for job, bundle in enumerate(bundles, start=1):
            report = AttributionReport.from_dict(json.loads((bundle.directory / "report.json").read_text()))
            adapter_cid = add_directory(store, bundle.directory)
            report_cid = store.add(canonical_json(report.to_dict()))
            spec_cid = store.add((bundle.directory / "spec.json").read_bytes())
            base = json.loads((bundle.directory / "spec.json").read_text())["base_model"]
            model = Model(
                address, 1, 1, base, spec_cid, 1, ModelStatus.LIVE, job, address, adapter_cid
            )
            self.rows.append((model, report_cid))

    def model_count(self) -> int:
        return len(self.rows)

    def get_model(self, model_id: int) -> Model:
        return self.rows[model_id - 1][0]

    def get_job(self, job_id: int) -> SimpleNamespace:
        return SimpleNamespace(result=SimpleNamespace(report_cid=self.rows[job_id - 1][1]))


def test_catalog_keeps_at_most_max_adapters_and_reloads_the_same_answers(bundles, alone, tmp_path) -> None:
    names = ["cls0", "cls1", "cls2", "rank4"]
    store = LocalStore(tmp_path / "ipfs")
    registry = _Registry(store, [bundles[n] for n in names], "0x" + "11" * 20)
    client = SimpleNamespace(address=registry.address, models=registry)
    catalog = ModelCatalog(client, store, tmp_path / "models", max_adapters=2)  # type: ignore[arg-type]
    listed = {m.model_id: m.to_dict() for m in catalog.listing()}
    assert listed[1]["chat_template"] is False and listed[1]["task"] == "classification"
    for model_id in (1, 2, 3, 1, 4, 2, 1):
        served = catalog.get(model_id)
        assert catalog.loaded[-1] == model_id and len(catalog.loaded) <= 2
        assert _ask(served) == alone[names[model_id - 1]][0]
    assert catalog.loaded == [2, 1]
    assert len(catalog.bases.bases) == 1  # rank 4's base went with model 4
    models = {id(catalog.get(i).analyzer.model) for i in catalog.loaded}
    assert len(models) == 1


# -- through the real path: paid answers of two live models on one base -----------------------------------


def test_live_models_on_one_base_share_it_through_the_paid_path(serving) -> None:
    """Two live models on the devnet whose bundles need the same base: `openledger serve`'s service
    loads one base copy for both, and each paid answer and receipt is what the model gives alone."""
    live = serving.live
    second = second_live_model(live)
    user = serving.user()
    first_payment = user.pay(live.model_id, 2).created_id
    second_payment = user.pay(second, 2).created_id
    answers = [
        user.predict(live.model_id, "good great happy", first_payment, 0),
        user.predict(second, "good great happy", second_payment, 0),
        user.predict(live.model_id, "bad awful sad", first_payment, 1),
        user.predict(second, "bad awful sad", second_payment, 1),
    ]
    catalog = serving.service.catalog
    assert catalog.loaded == [live.model_id, second] and len(catalog.bases.bases) == 1
    assert catalog.get(live.model_id).analyzer.model is catalog.get(second).analyzer.model
    for a, b in (answers[:2], answers[2:]):  # the same bundle: the same answer and receipt weights
        assert a.output == b.output and a.receipt.evidence == b.receipt.evidence
        assert a.receipt.contributors == b.receipt.contributors
        assert a.receipt.weights_ppm == b.receipt.weights_ppm
    (serving.home / "alone").mkdir()
    alone = make_service(live, serving.home / "alone")  # a fresh service: the model loaded by itself
    try:
        served = alone.catalog.get(live.model_id)
        assert served.classify("bad awful sad").output == answers[2].output
        assert served.classify("good great happy").attribution.weights_ppm == answers[0].receipt.weights_ppm
    finally:
        alone.receipts.close()
