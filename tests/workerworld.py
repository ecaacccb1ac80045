"""A pytest plugin (tests/conftest.py loads it): a small world for worker tests on a real Anvil, a
Datanet of toy sentiment records from three contributors, a published version, a tiny-BERT model bound
to it and a training request; plus helpers to run the worker in-process or as a real `openledger worker
run` process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from tinymodels import sentiment_records

from worker.canonical import canonical_json
from worker.chain.devnet import LocalChain
from worker.chain.types import JobStatus, Policy
from worker.daemon import WorkerDaemon, WorkerSettings
from worker.datanet.contributing import prepare_contribution_data, upload_and_submit
from worker.datanet.creating import build_metadata, create_datanet
from worker.datanet.curation import review_contribution
from worker.datanet.publishing import publish_version
from worker.storage import LocalStore
from worker.train import TrainingSpec
from worker.units import OPEN

OWNER, CURATOR, MODEL_OWNER, WORKER, OTHER_WORKER = 1, 2, 6, 7, 8
CONTRIBUTORS = (3, 4, 5)
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class World:
    chain: LocalChain
    store: LocalStore
    datanet_id: int
    version_id: int
    base_model: str
    home: Path

    def client(self, index: int):
        return self.chain.client(index)

    def spec(self, **changes) -> TrainingSpec:
        base = TrainingSpec(
            base_model=self.base_model,
            epochs=2,
            batch_size=8,
            lr=1e-2,
            max_length=16,
            validation_fraction=0.2,
            labels=("neg", "pos"),
        )
        return replace(base, **changes)

    def request(self, spec_cid: str | None = None, bounty: int = 50 * OPEN) -> tuple[int, int]:
        """Register a model on the version and request training; returns (model id, job id)."""
        owner = self.client(MODEL_OWNER)
        spec_cid = spec_cid or self.store.add(self.spec().to_json().encode())
        model_id = owner.models.register_model(
            self.datanet_id, self.version_id, self.base_model, spec_cid, 2 * OPEN
        ).created_id
        job_id = owner.models.request_training(model_id, bounty).created_id
        return model_id, job_id

    def results(self, job_id: int) -> tuple[int, int]:
        """(ResultSubmitted count, JobFinalized count) for `job_id` over the whole chain."""
        models = self.client(0).models
        submitted = [e for e in models.get_events("ResultSubmitted") if e["jobId"] == job_id]
        finalized = [e for e in models.get_events("JobFinalized") if e["jobId"] == job_id]
        return len(submitted), len(finalized)


def _contribute(chain: LocalChain, store: LocalStore, datanet_id: int, index: int, rows: list[dict]) -> int:
    data = b"".join(canonical_json({"text": r["text"], "label": r["label"]}) + b"\n" for r in rows)
    client = chain.client(index)
    return upload_and_submit(
        client, store, prepare_contribution_data(client, store, datanet_id, data)
    ).contribution_id


@pytest.fixture
def world(devnet: LocalChain, tmp_path: Path, tiny_bert: Path) -> World:
    store = LocalStore(tmp_path / "home" / "ipfs")
    for index in (OWNER, CURATOR, MODEL_OWNER, WORKER, OTHER_WORKER, *CONTRIBUTORS):
        devnet.client(0).token.transfer(devnet.client(index).address, 5_000 * OPEN)
    metadata = build_metadata(name="toy", task="classification", labels=["neg", "pos"], licence="CC0-1.0")
    datanet_id = create_datanet(
        devnet.client(OWNER), store, metadata, Policy(OPEN, 3600, 5_000), [devnet.client(CURATOR).address]
    ).datanet_id
    rows = sentiment_records(36)
    for n, index in enumerate(CONTRIBUTORS):
        cid = _contribute(devnet, store, datanet_id, index, rows[n::3])
        review_contribution(devnet.client(CURATOR), store, cid, True)
    version = publish_version(devnet.client(OWNER), store, datanet_id)
    return World(devnet, store, datanet_id, version.version_id, str(tiny_bert), tmp_path / "home")


def contribute(world: World, index: int, rows: list[dict]) -> int:
    return _contribute(world.chain, world.store, world.datanet_id, index, rows)


# -- the worker as a real process -------------------------------------------------------------------


@pytest.fixture
def worker_env(world: World, deployments_dir: Path) -> dict[str, str]:
    """Environment of an `openledger worker run` process on the test chain and its content store."""
    (world.home / "deployments").mkdir(parents=True, exist_ok=True)
    for file in deployments_dir.glob("*.json"):
        shutil.copy(file, world.home / "deployments" / file.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLEDGER_")}
    env.update(
        OPENLEDGER_HOME=str(world.home),
        OPENLEDGER_RPC=world.chain.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    return env


def worker_command(*extra: str) -> list[str]:
    return [
        sys.executable, "-m", "worker.cli", "worker", "run", "--dev-account", str(WORKER),
        "--allow-local-models", "--poll", "0.1", "--max-wait", "0.2", *extra,
    ]  # fmt: skip


def run_worker(
    env: dict[str, str], *extra: str, failpoint: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    full_env = dict(env, **({"OPENLEDGER_FAILPOINT": failpoint} if failpoint else {}))
    return subprocess.run(
        worker_command(*extra), env=full_env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def no_failpoint() -> Iterator[None]:
    saved = os.environ.pop("OPENLEDGER_FAILPOINT", None)
    yield
    if saved is not None:
        os.environ["OPENLEDGER_FAILPOINT"] = saved


def daemon_for(world: World, index: int = WORKER, home: Path | None = None, **changes) -> WorkerDaemon:
    settings = WorkerSettings(
        home=home or world.home / f"worker-{index}",
        poll_interval=0.05,
        max_wait=0.2,
        stake=300 * OPEN,
        base_models=(),
        allow_local_models=True,
        **changes,
    )
    return WorkerDaemon.open(world.client(index), world.store, settings)


def run_until_status(
    daemon: WorkerDaemon, world: World, job_id: int, status: JobStatus, timeout: float = 120
) -> None:
    daemon.run(until=lambda: world.client(0).models.get_job(job_id).status == status, timeout=timeout)
