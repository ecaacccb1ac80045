"""`openledger model approve-requester|request-training|activate` against a real Anvil: a stranger is refused
before any gas, the owner delegates, and a retrained result goes live only when the owner activates it."""

from __future__ import annotations

from conftest import CliHome
from eth_utils import keccak

from worker.chain.devnet import LocalChain
from worker.demo.scenarios import live_model, registered_worker

MODEL_OWNER, STRANGER, NEW_WORKER = "6", "5", 8


def test_only_the_owner_changes_who_trains_and_what_is_live(devnet: LocalChain, chain_home: CliHome) -> None:
    model_id, _ = live_model(devnet)  # owned by dev account 6, served by worker 7
    stranger = devnet.client(int(STRANGER)).address
    nonce = devnet.w3.eth.get_transaction_count(stranger)
    refused = chain_home.run(
        "model", "request-training", model_id, "--bounty", "10", "--dev-account", STRANGER, code=1
    )
    assert f"{stranger} may not request training for model {model_id}" in refused.stderr
    usurp = chain_home.run(
        "model", "approve-requester", model_id, stranger, "--dev-account", STRANGER, code=1
    )
    assert "does not own model" in usurp.stderr and "nothing was sent" in usurp.stderr
    assert devnet.w3.eth.get_transaction_count(stranger) == nonce

    approved = chain_home.json("model", "approve-requester", model_id, stranger, "--dev-account", MODEL_OWNER)
    assert approved["approved"] is True and approved["account"] == stranger
    job_id = chain_home.json(
        "model", "request-training", model_id, "--bounty", "10", "--dev-account", STRANGER
    )["job_id"]

    registered_worker(devnet, NEW_WORKER)
    models = devnet.client(NEW_WORKER).models
    models.claim_job(job_id)
    models.submit_result(job_id, "bafy-retrained", "bafymetrics", keccak(text="retrained"), "bafyreport")
    early = chain_home.run("model", "activate", job_id, "--dev-account", MODEL_OWNER, code=1)
    assert "not finalized" in early.stderr
    devnet.dev.increase_time(models.params().challenge_window + 1)
    assert models.finalize(job_id).events_named("ResultAwaitingOwner")  # the live model is untouched

    chain_home.run("model", "activate", job_id, "--dev-account", STRANGER, code=1)
    live = chain_home.json("model", "activate", job_id, "--dev-account", MODEL_OWNER)
    assert (live["compute_provider"], live["adapter_cid"]) == (
        devnet.client(NEW_WORKER).address,
        "bafy-retrained",
    )
    assert devnet.client(0).models.get_model(model_id).live_job_id == job_id
