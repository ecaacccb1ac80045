"""Reverts come back as TransactionReverted naming the contract, function, custom error and arguments."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from worker.chain.devnet import LocalChain
from worker.chain.reverts import TransactionReverted
from worker.demo.scenarios import STAKE, datanet_with_version, fund, model_with_job, registered_worker

GOVERNANCE_ROLE = keccak(text="GOVERNANCE_ROLE")


def test_wrong_role_names_account_and_role(devnet: LocalChain) -> None:
    outsider = devnet.client(5)
    nonce = devnet.w3.eth.get_transaction_count(outsider.address)
    with pytest.raises(TransactionReverted) as caught:
        outsider.models.resolve_challenge(1, True)
    err = caught.value
    assert err.error_name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider.address, "neededRole": GOVERNANCE_ROLE}
    assert (err.contract, err.function, err.stage) == ("ModelRegistry", "resolveChallenge", "estimate")
    assert str(err).startswith(
        f"ModelRegistry.resolveChallenge reverted: ModelRegistry: AccessControlUnauthorizedAccount("
        f"account={outsider.address}, neededRole=0x{GOVERNANCE_ROLE.hex()})"
    )
    assert devnet.w3.eth.get_transaction_count(outsider.address) == nonce  # nothing was sent


def test_not_curator(devnet: LocalChain) -> None:
    datanet_id = datanet_with_version(devnet)
    contributor = devnet.client(3)
    second = contributor.datanets.contribute(datanet_id, "bafy-two", 10, 1).created_id
    with pytest.raises(TransactionReverted) as caught:
        contributor.datanets.review(second, True)
    assert caught.value.error_name == "NotCurator"
    assert caught.value.args == {"datanetId": datanet_id, "caller": contributor.address}
    assert "DatanetRegistry: NotCurator(datanetId=1" in str(caught.value)


def test_unknown_ids_in_views_and_transactions(devnet: LocalChain) -> None:
    client = devnet.client(1)
    with pytest.raises(TransactionReverted) as view:
        client.models.get_job(99)
    assert (view.value.error_name, view.value.args, view.value.stage) == ("UnknownJob", {"jobId": 99}, "call")
    with pytest.raises(TransactionReverted) as tx:
        client.datanets.publish_version(42, keccak(text="r"), "bafym", 1, 1)
    assert (tx.value.error_name, tx.value.args) == ("UnknownDatanet", {"datanetId": 42})


def test_duplicate_contribution_carries_the_cid(devnet: LocalChain) -> None:
    datanet_id = datanet_with_version(devnet)
    with pytest.raises(TransactionReverted) as caught:
        devnet.client(3).datanets.contribute(datanet_id, "bafy-one", 100, 5)
    assert caught.value.args == {"datanetId": datanet_id, "contentCid": "bafy-one"}
    assert "DuplicateContribution(datanetId=1, contentCid='bafy-one')" in str(caught.value)


def test_token_error_inside_a_registry_call(devnet: LocalChain) -> None:
    datanet_id = datanet_with_version(devnet)
    fund(devnet, (4,))
    stranger = devnet.client(4)  # funded but never approved the registry
    with pytest.raises(TransactionReverted) as caught:
        stranger.datanets.transact("contribute", datanet_id, "bafy-x", 10, 1)
    assert caught.value.error_name == "ERC20InsufficientAllowance"
    assert caught.value.args == {"spender": stranger.datanets.address, "allowance": 0, "needed": STAKE}
    assert "DatanetRegistry.contribute reverted: OpenToken: ERC20InsufficientAllowance(" in str(caught.value)


def test_expired_lease_at_estimate_and_in_receipt(devnet: LocalChain) -> None:
    _, job_id = model_with_job(devnet)
    registered_worker(devnet, 7)
    worker = devnet.client(7)
    expires = worker.models.claim_job(job_id).event("JobClaimed")["leaseExpiresAt"]
    devnet.dev.increase_time(worker.models.params().lease_duration + 1)
    args = (job_id, "bafyadapter", "bafymetrics", keccak(text="root"), "bafyreport")
    with pytest.raises(TransactionReverted) as estimated:
        worker.models.submit_result(*args)
    assert estimated.value.error_name == "LeaseExpired"
    assert estimated.value.args == {"jobId": job_id, "leaseExpiresAt": expires}
    # With a fixed gas limit nothing is estimated: the tx is mined, fails, and is replayed for its reason.
    nonce = devnet.w3.eth.get_transaction_count(worker.address)
    with pytest.raises(TransactionReverted) as mined:
        worker.models.transact("submitResult", *args, gas=400_000)
    assert (mined.value.stage, mined.value.error_name) == ("receipt", "LeaseExpired")
    assert mined.value.args == {"jobId": job_id, "leaseExpiresAt": expires}
    receipt = devnet.w3.eth.get_transaction_receipt(mined.value.tx_hash)
    assert receipt["status"] == 0 and devnet.w3.eth.get_transaction_count(worker.address) == nonce + 1


def test_claim_requires_an_active_worker(devnet: LocalChain) -> None:
    _, job_id = model_with_job(devnet)
    with pytest.raises(TransactionReverted) as caught:
        devnet.client(8).models.claim_job(job_id)
    assert (caught.value.error_name, caught.value.args) == (
        "NotActiveWorker",
        {"caller": devnet.client(8).address},
    )
