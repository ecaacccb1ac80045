"""The commands that complete the CLI journey, against a real Anvil: `model register|show|list`, `job show`,
`model activate`'s weak-model warning, `withdraw`, `challenge job|epoch`, `datanet curators add|remove` and
`dev fund|advance-time`; each succeeds once and refuses once with a clear error (nothing sent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CliHome
from eth_account import Account
from eth_utils import keccak

from worker.canonical import canonical_json
from worker.chain.devnet import LocalChain
from worker.demo.scenarios import datanet_with_version, fund, live_model, model_with_job, registered_worker
from worker.train import TrainingSpec
from worker.units import OPEN

OWNER, WORKER, CHALLENGER = 6, 7, 5


def _metrics(home: CliHome, accuracy: float) -> str:
    metrics = {"final": {"epoch": 3, "val_accuracy": accuracy, "val_loss": 1.1}, "train_records": 27}
    return home.store.add(canonical_json({**metrics, "validation_records": 3}))


def _post(chain: LocalChain, job_id: int, metrics_cid: str) -> None:
    worker = chain.client(WORKER).models
    worker.claim_job(job_id)
    worker.submit_result(job_id, f"bafy-adapter-{job_id}", metrics_cid, keccak(text="attr"), "bafyreport")


def test_register_show_list_and_job_show(devnet: LocalChain, chain_home: CliHome, tmp_path: Path) -> None:
    datanet_id = datanet_with_version(devnet)
    fund(devnet, (OWNER,))
    spec = tmp_path / "spec.json"
    spec.write_text(TrainingSpec(base_model="minilm", labels=("neg", "pos")).to_json())
    owner = ("--dev-account", str(OWNER))
    missing = chain_home.run("model", "register", datanet_id, 9, "--spec", spec, *owner, code=1)
    assert f"datanet {datanet_id} has no version 9" in missing.stderr and "nothing was sent" in missing.stderr

    made = chain_home.json("model", "register", datanet_id, 1, "--spec", spec, "--bounty", "10", *owner)
    model_id, job_id = made["model_id"], made["job_id"]
    assert made["base_model"] == "minilm" and chain_home.store.has(made["spec_cid"])
    listed = chain_home.json("model", "list")
    assert [(m["model_id"], m["live"]) for m in listed] == [(model_id, False)]

    job = chain_home.json("job", "show", job_id)
    assert (job["status"], job["model_id"], job["worker"], job["result"]) == ("open", model_id, None, None)
    text = chain_home.run("job", "show", job_id).stdout
    assert "claimable until" in text and " UTC, in " in text
    assert "does not exist" in chain_home.run("job", "show", 99, code=1).stderr
    assert "does not exist" in chain_home.run("model", "show", 99, code=1).stderr


def test_show_metrics_warn_on_a_weak_model_then_withdraw(devnet: LocalChain, chain_home: CliHome) -> None:
    model_id, job_id = model_with_job(devnet)
    registered_worker(devnet, WORKER)
    _post(devnet, job_id, _metrics(chain_home, 0.9))
    window = devnet.client(0).models.params().challenge_window
    devnet.dev.increase_time(window + 1)
    devnet.client(WORKER).models.finalize(job_id)  # no provider yet: live at once

    shown = chain_home.json("model", "show", model_id)
    assert shown["live"] and shown["live_job_id"] == job_id
    assert shown["metrics"]["validation_accuracy"] == 0.9 and shown["jobs"][0]["status"] == "finalized"
    assert "val_accuracy 0.9000" in chain_home.run("model", "show", model_id).stdout

    retrain = chain_home.json("model", "request-training", model_id, "--bounty", "10", "--dev-account", OWNER)
    _post(devnet, retrain["job_id"], _metrics(chain_home, 0.33))
    devnet.dev.increase_time(window + 1)
    devnet.client(WORKER).models.finalize(retrain["job_id"])  # awaits the owner
    live = chain_home.run("model", "activate", retrain["job_id"], "--dev-account", OWNER)
    assert "validation accuracy is 0.33, below 0.6" in live.stderr and "weak model" in live.stderr

    withdrawn = chain_home.json("withdraw", "--dev-account", WORKER)["withdrawn"]
    assert withdrawn == [
        {"contract": "ModelRegistry", "amount": str(510 * OPEN), "tx_hash": withdrawn[0]["tx_hash"]}
    ]
    again = chain_home.run("withdraw", "--dev-account", WORKER, code=1)
    assert "nothing to withdraw" in again.stderr


def test_challenge_a_job_result_and_an_epoch_root(devnet: LocalChain, chain_home: CliHome) -> None:
    model_id, _ = live_model(devnet, worker=WORKER)
    challenger = ("--dev-account", str(CHALLENGER))
    job_id = devnet.client(OWNER).models.request_training(model_id, 10 * OPEN).created_id
    assert job_id is not None
    early = chain_home.run("challenge", "job", job_id, "--reason", "wrong", *challenger, code=1)
    assert f"job {job_id} is open" in early.stderr and "nothing was sent" in early.stderr
    _post(devnet, job_id, "bafymetrics")

    done = chain_home.json("challenge", "job", job_id, "--reason", "the adapter differs", *challenger)
    assert chain_home.store.has(done["reason_cid"]) and int(done["bond"]) > 0
    assert devnet.client(0).models.get_job(job_id).dispute.challenger == devnet.client(CHALLENGER).address
    twice = chain_home.run("challenge", "job", job_id, "--reason", "again", *challenger, code=1)
    assert "already challenged" in twice.stderr

    vault = devnet.client(WORKER).vault
    vault.post_epoch_root(model_id, 0, keccak(text="root"), vault.pool(model_id).available, "bafy-report")
    none = chain_home.run("challenge", "epoch", model_id, 3, "--reason", "wrong", *challenger, code=1)
    assert "has no root posted for epoch 3" in none.stderr
    epoch = chain_home.json("challenge", "epoch", model_id, 0, "--reason", "recount", *challenger)
    assert (epoch["model_id"], epoch["epoch"]) == (model_id, 0)
    assert devnet.client(0).vault.get_epoch(model_id, 0).dispute.open


def test_curators_add_and_remove(devnet: LocalChain, chain_home: CliHome) -> None:
    datanet_id = datanet_with_version(devnet)  # owner: dev account 1
    new = devnet.client(4).address
    added = chain_home.json("datanet", "curators", "add", datanet_id, new, "--dev-account", "1")
    assert added["enabled"] and devnet.client(0).datanets.is_curator(datanet_id, new)
    twice = chain_home.run("datanet", "curators", "add", datanet_id, new, "--dev-account", "1", code=1)
    assert "already a curator" in twice.stderr
    usurp = chain_home.run("datanet", "curators", "remove", datanet_id, new, "--dev-account", "3", code=1)
    assert "does not own datanet" in usurp.stderr
    chain_home.run("datanet", "curators", "remove", datanet_id, new, "--dev-account", "1")
    assert not devnet.client(0).datanets.is_curator(datanet_id, new)


def test_dev_fund_and_advance_time_on_local_chains_only(
    devnet: LocalChain, chain_home: CliHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = Account.create().address
    funded = chain_home.json("dev", "fund", fresh, "5", "--eth", "1")
    assert (funded["open_balance"], funded["eth_balance"]) == (str(5 * OPEN), str(10**18))
    assert devnet.client(0).token.balance_of(fresh) == 5 * OPEN
    before = devnet.dev.timestamp()
    moved = chain_home.json("dev", "advance-time", "2h")
    assert moved["timestamp"] >= before + 7200 and devnet.dev.timestamp() == moved["timestamp"]
    assert "not a duration" in chain_home.run("dev", "advance-time", "soon", code=2).stderr

    monkeypatch.setattr("worker.chain.connection.LOCAL_CHAIN_IDS", (1,))
    refused = chain_home.run("dev", "advance-time", "1h", code=1)
    assert "local development chain only" in refused.stderr and "chain 31337" in refused.stderr
    assert "local development chain only" in chain_home.run("dev", "fund", fresh, "1", code=1).stderr
    assert devnet.client(0).token.balance_of(fresh) == 5 * OPEN
