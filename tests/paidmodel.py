"""A live, paid model on the devnet, for the serve and rewards tests (imported by plain name, like
tinymodels.py).

`make_live_model` does what the demo's first two stages do, small: a real Datanet (three contributors,
curated and published, every file on a local content store), a tiny model trained on the version's
records with its attribution index and report, uploaded as a directory bundle, a training job claimed by
the worker (dev account 8) and finalized, so the model is live at PRICE per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tinymodels import generation_records, sentiment_records

from worker.attribution import AttributionArguments, FeatureArguments, attribute
from worker.billing import ReceiptLog
from worker.canonical import canonical_json
from worker.chain.devnet import LocalChain
from worker.chain.types import Policy
from worker.datanet.contributing import prepare_contribution_data, upload_and_submit
from worker.datanet.creating import build_metadata, create_datanet
from worker.datanet.curation import review_contribution
from worker.datanet.publishing import publish_version
from worker.datanet.versions import load_published_version
from worker.jobs import publish_result
from worker.jobs.inputs import training_records as provenance_records
from worker.serve import InferenceClient, InferenceService, ServeConfig, ServerThread, create_app
from worker.storage import LocalStore
from worker.train import TrainingSpec, train
from worker.units import OPEN

PRICE = 2 * OPEN
DATANET_OWNER, CURATOR, CONTRIBUTORS, MODEL_OWNER, WORKER, USER, STRANGER = 1, 2, (3, 4, 5), 7, 8, 9, 10
ARGS = AttributionArguments(features=FeatureArguments(projection_dim=64))


@dataclass(frozen=True)
class LiveModel:
    chain: LocalChain
    store: LocalStore
    model_id: int
    job_id: int
    adapter_cid: str
    report_cid: str
    task: str

    def client(self, index: int):
        return self.chain.client(index)

    @property
    def contributor_addresses(self) -> list[str]:
        return [self.chain.client(i).address for i in CONTRIBUTORS]


def _files(task: str) -> list[list[dict]]:
    raw = sentiment_records(36) if task == "classification" else generation_records(12)
    records = [{k: v for k, v in r.items() if k != "contributor"} for r in raw]
    return [records[i :: len(CONTRIBUTORS)] for i in range(len(CONTRIBUTORS))]


def _fund(chain: LocalChain) -> None:
    treasury = chain.client(0).token
    for index in (DATANET_OWNER, CURATOR, *CONTRIBUTORS, MODEL_OWNER, WORKER, USER, STRANGER):
        treasury.transfer(chain.client(index).address, 5_000 * OPEN)


def publish_datanet(chain: LocalChain, store: LocalStore, task: str) -> tuple[int, int]:
    labels = ["neg", "pos"] if task == "classification" else []
    metadata = build_metadata(name=f"paid-{task}", task=task, labels=labels, licence="CC-BY-4.0")
    owner = chain.client(DATANET_OWNER)
    policy = Policy(10 * OPEN, 3600, 5_000)
    datanet_id = create_datanet(owner, store, metadata, policy, [chain.client(CURATOR).address]).datanet_id
    for index, records in zip(CONTRIBUTORS, _files(task), strict=True):
        data = b"".join(canonical_json(r) + b"\n" for r in records)
        prepared = prepare_contribution_data(chain.client(index), store, datanet_id, data)
        submitted = upload_and_submit(chain.client(index), store, prepared)
        review_contribution(chain.client(CURATOR), store, submitted.contribution_id, True)
    return datanet_id, publish_version(owner, store, datanet_id).version_id


def training_records(chain: LocalChain, store: LocalStore, datanet_id: int, version_id: int) -> list[dict]:
    rows = load_published_version(chain.client(WORKER), store, datanet_id, version_id, validate=False)[1]
    return provenance_records(rows)


def train_bundle(base: Path, task: str, records: list[dict], workdir: Path, store: LocalStore):
    spec = TrainingSpec(
        base_model=str(base),
        task=task,
        labels=("neg", "pos") if task == "classification" else (),
        epochs=2,
        batch_size=8,
        lr=1e-2,
        max_length=24,
        validation_fraction=0.2,
    )
    train(spec, records, workdir / "model")
    report = attribute(workdir / "model", records, records[:2], args=ARGS)
    result = publish_result(store, workdir / "model", report)
    return spec, result.adapter_cid, result.metrics_cid, result.report_cid, result.root_bytes


def make_live_model(chain: LocalChain, store: LocalStore, base: Path, task: str, workdir: Path) -> LiveModel:
    _fund(chain)
    datanet_id, version_id = publish_datanet(chain, store, task)
    records = training_records(chain, store, datanet_id, version_id)
    spec, adapter_cid, metrics_cid, report_cid, root = train_bundle(base, task, records, workdir, store)
    owner, worker = chain.client(MODEL_OWNER), chain.client(WORKER)
    spec_cid = store.add(spec.to_json().encode())
    model_id = owner.models.register_model(datanet_id, version_id, str(base), spec_cid, PRICE).created_id
    job_id = owner.models.request_training(model_id, 100 * OPEN).created_id
    worker.workers.register_worker(1_000 * OPEN, "http://127.0.0.1:1")
    worker.models.claim_job(job_id)
    worker.models.submit_result(job_id, adapter_cid, metrics_cid, root, report_cid)
    chain.dev.increase_time(worker.models.params().challenge_window + 1)
    worker.models.finalize(job_id)
    return LiveModel(chain, store, model_id, job_id, adapter_cid, report_cid, task)


def second_live_model(live: LiveModel, price: int = PRICE, version_id: int | None = None) -> int:
    """Another live model on the same bundle (no retraining), served by the same worker; bound to the
    same Datanet version, or to `version_id` of that Datanet."""
    owner, worker = live.client(MODEL_OWNER), live.client(WORKER)
    first = owner.models.get_model(live.model_id)
    job = owner.models.get_job(live.job_id).result
    version = version_id or first.version_id
    model_id = owner.models.register_model(
        first.datanet_id, version, first.base_model, first.training_spec_cid, price
    ).created_id
    job_id = owner.models.request_training(model_id, 100 * OPEN).created_id
    worker.models.claim_job(job_id)
    worker.models.submit_result(
        job_id, job.adapter_cid, job.metrics_cid, job.attribution_root, job.report_cid
    )
    live.chain.dev.increase_time(worker.models.params().challenge_window + 1)
    worker.models.finalize(job_id)
    return model_id


# -- fixtures (re-exported by the conftest of each folder that uses them) ------------------------------


@pytest.fixture(scope="module")
def live_classifier(governed_devnet, tiny_bert, tmp_path_factory) -> Iterator[LiveModel]:
    """Set up once per module (seconds: datanet, training, job): the module snapshots the session's
    governed devnet first and rewinds it at its end; `live` rewinds after each test, as `devnet` does."""
    workdir = tmp_path_factory.mktemp("paid-classifier")
    snapshot = governed_devnet.dev.snapshot()
    try:
        yield make_live_model(
            governed_devnet, LocalStore(workdir / "ipfs"), tiny_bert, "classification", workdir
        )
    finally:
        governed_devnet.dev.revert(snapshot)


@pytest.fixture
def live(live_classifier: LiveModel) -> Iterator[LiveModel]:
    snapshot = live_classifier.chain.dev.snapshot()
    try:
        yield live_classifier
    finally:
        live_classifier.chain.dev.revert(snapshot)


@dataclass
class Serving:
    """An inference service for `live` on its own receipt log, served by uvicorn on loopback."""

    live: LiveModel
    service: InferenceService
    server: ServerThread
    home: Path

    @property
    def receipts(self) -> ReceiptLog:
        return self.service.receipts

    def user(self, index: int = USER) -> InferenceClient:
        return InferenceClient(self.live.client(index), self.server.url)


def make_service(
    live: LiveModel, home: Path, config: ServeConfig | None = None, log: str | None = None
) -> InferenceService:
    """An inference service on the receipt log at `log` (a SQLite file under `home` by default)."""
    receipts = ReceiptLog(log or home / "receipts.sqlite")
    return InferenceService(live.client(WORKER), live.store, receipts, home / "models", config)


def start_serving(
    live: LiveModel, home: Path, config: ServeConfig | None = None, log: str | None = None
) -> Serving:
    service = make_service(live, home, config, log)
    return Serving(live, service, ServerThread(create_app(service)).start(), home)


def stop_serving(serving: Serving) -> None:
    serving.server.stop()
    serving.service.receipts.close()


@pytest.fixture
def serving(live: LiveModel, tmp_path: Path) -> Iterator[Serving]:
    running = start_serving(live, tmp_path)
    try:
        yield running
    finally:
        stop_serving(running)


@pytest.fixture(scope="module")
def live_generator(governed_devnet, tiny_llama, tmp_path_factory) -> Iterator[LiveModel]:
    """A live tiny-Llama language model on a generation Datanet (set up once per module, like above)."""
    workdir = tmp_path_factory.mktemp("paid-generator")
    snapshot = governed_devnet.dev.snapshot()
    try:
        yield make_live_model(
            governed_devnet, LocalStore(workdir / "ipfs"), tiny_llama, "generation", workdir
        )
    finally:
        governed_devnet.dev.revert(snapshot)


@pytest.fixture
def lm_serving(live_generator: LiveModel, tmp_path: Path) -> Iterator[Serving]:
    """A server for the live language model, the chain rewound after the test."""
    snapshot = live_generator.chain.dev.snapshot()
    running = start_serving(live_generator, tmp_path)
    try:
        yield running
    finally:
        stop_serving(running)
        live_generator.chain.dev.revert(snapshot)


def cli_env(live: LiveModel, **extra: str) -> dict[str, str]:
    """Environment for `openledger` commands on this live model: its content store and deployment record
    under one OPENLEDGER_HOME, and no key or Kubo inherited from the caller's shell."""
    import shutil

    home = live.store.root.parent
    record = live.chain.deployment.path
    assert record is not None
    (home / "deployments").mkdir(exist_ok=True)
    shutil.copy(record, home / "deployments" / record.name)
    return {
        "OPENLEDGER_HOME": str(home),
        "OPENLEDGER_RPC": live.chain.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "OPENLEDGER_PRIVATE_KEY": "",
        "OPENLEDGER_KEYSTORE": "",
        "IPFS_API": "",
        **extra,
    }
