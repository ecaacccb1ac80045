"""Chain states in a few calls, for tests and benchmarks on a local chain: funded accounts, a datanet
with a version, a model with an open job, a registered worker, a live model with a paid-in pool. The ids
they return come from the transactions' own events."""

from __future__ import annotations

from eth_utils.crypto import keccak

from worker.chain.bindings import TxResult
from worker.chain.devnet import LocalChain
from worker.chain.types import Policy
from worker.errors import ChainError
from worker.units import OPEN

STAKE = 10 * OPEN
BOUNTY = 500 * OPEN
WORKER_STAKE = 1_000 * OPEN  # covers the 1.5x collateral a claim of BOUNTY locks


def created(result: TxResult, what: str) -> int:
    """The id the transaction's creation event carries."""
    if result.created_id is None:
        raise ChainError(f"{what}: the transaction {result.tx_hash} emitted no creation event")
    return result.created_id


def fund(chain: LocalChain, indices: tuple[int, ...], amount: int = 10_000 * OPEN) -> None:
    for index in indices:
        chain.client(0).token.transfer(chain.client(index).address, amount)


def datanet_with_version(chain: LocalChain, owner: int = 1, curator: int = 2, contributor: int = 3) -> int:
    """A datanet (owner, one curator) with one accepted contribution and version 1; returns its id."""
    fund(chain, (owner, curator, contributor))
    policy = Policy(STAKE, 3600, 2_500)
    owner_client = chain.client(owner)
    datanet_id = created(
        owner_client.datanets.create_datanet(
            "bafymeta", owner_client.address, policy, [chain.client(curator).address]
        ),
        "createDatanet",
    )
    contribution = created(
        chain.client(contributor).datanets.contribute(datanet_id, "bafy-one", 100, 5), "contribute"
    )
    chain.client(curator).datanets.review(contribution, True)
    chain.client(owner).datanets.publish_version(datanet_id, keccak(text="v1"), "bafymanifest", 5, 1)
    return datanet_id


def model_with_job(chain: LocalChain, model_owner: int = 6, price: int = 2 * OPEN) -> tuple[int, int]:
    """A registered model on a fresh datanet version, with one Open training job: (model id, job id)."""
    datanet_id = datanet_with_version(chain)
    fund(chain, (model_owner,))
    owner = chain.client(model_owner)
    registered = owner.models.register_model(datanet_id, 1, "minilm", "bafyspec", price)
    model_id = created(registered, "registerModel")
    job_id = created(owner.models.request_training(model_id, BOUNTY), "requestTraining")
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
