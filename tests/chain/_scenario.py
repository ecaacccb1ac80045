"""Small building blocks for chain tests: funded accounts, a datanet with a version, a model with a job."""

from __future__ import annotations

from eth_utils import keccak

from worker.chain.devnet import LocalChain
from worker.chain.types import Policy
from worker.units import OPEN

STAKE = 10 * OPEN
BOUNTY = 500 * OPEN
WORKER_STAKE = 1_000 * OPEN  # covers the 1.5x collateral a claim of BOUNTY locks


def fund(chain: LocalChain, indices: tuple[int, ...], amount: int = 10_000 * OPEN) -> None:
    for index in indices:
        chain.client(0).token.transfer(chain.client(index).address, amount)


def datanet_with_version(chain: LocalChain, owner: int = 1, curator: int = 2, contributor: int = 3) -> int:
    """A datanet (owner, one curator) with one accepted contribution and version 1; returns its id."""
    fund(chain, (owner, curator, contributor))
    policy = Policy(STAKE, 3600, 2_500)
    datanet_id = (
        chain.client(owner)
        .datanets.create_datanet(
            "bafymeta", chain.client(owner).address, policy, [chain.client(curator).address]
        )
        .created_id
    )
    assert datanet_id is not None
    contribution = chain.client(contributor).datanets.contribute(datanet_id, "bafy-one", 100, 5).created_id
    assert contribution is not None
    chain.client(curator).datanets.review(contribution, True)
    chain.client(owner).datanets.publish_version(datanet_id, keccak(text="v1"), "bafymanifest", 5, 1)
    return datanet_id


def model_with_job(chain: LocalChain, model_owner: int = 6, price: int = 2 * OPEN) -> tuple[int, int]:
    """A registered model on a fresh datanet version, with one Open training job: (model id, job id)."""
    datanet_id = datanet_with_version(chain)
    fund(chain, (model_owner,))
    owner = chain.client(model_owner)
    model_id = owner.models.register_model(datanet_id, 1, "minilm", "bafyspec", price).created_id
    assert model_id is not None
    job_id = owner.models.request_training(model_id, BOUNTY).created_id
    assert job_id is not None
    return model_id, job_id


def registered_worker(chain: LocalChain, index: int = 7) -> None:
    fund(chain, (index,))
    chain.client(index).workers.register_worker(WORKER_STAKE, f"http://worker-{index}")


def live_model(chain: LocalChain, worker: int = 7, payer: int = 9, requests: int = 50) -> tuple[int, int]:
    """A model made live by `worker` (its compute provider) with a paid-in contributor pool: (model, job)."""
    model_id, job_id = model_with_job(chain)
    registered_worker(chain, worker)
    w = chain.client(worker)
    w.models.claim_job(job_id)
    w.models.submit_result(job_id, "bafyadapter", "bafymetrics", keccak(text="attr"), "bafyreport")
    chain.dev.increase_time(w.models.params().challenge_window + 1)
    w.models.finalize(job_id)
    fund(chain, (payer,))
    chain.client(payer).vault.pay_for_inference(model_id, requests, keccak(text="requests"))
    return model_id, job_id
