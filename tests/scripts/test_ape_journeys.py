"""The user journeys as ape scripts (`ape run create_datanet|contribute|request_training|pay_for_inference|
claim`) against a real Anvil: ape attaches to the test chain, the scripts sign with ape's test accounts
(the same keys as Anvil's dev accounts) and act on the deployment recorded under OPENLEDGER_HOME."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from apecli import ape_env, ape_executable

from worker.billing import ReceiptBody, receipt_domain, sign_receipt
from worker.billing.receipts import json_hash
from worker.chain.types import ModelStatus
from worker.datanet.curation import review_contribution
from worker.datanet.publishing import publish_version
from worker.rewards import build_report
from worker.storage import LocalStore
from worker.units import OPEN, PPM

ROOT = Path(__file__).resolve().parents[2]
OWNER, CURATOR, CONTRIBUTOR, MODEL_OWNER, WORKER, USER = 1, 2, 3, 7, 8, 9


@pytest.fixture
def ape_run(devnet, tmp_path):
    ape = ape_executable()
    home = tmp_path / "home"
    (home / "deployments").mkdir(parents=True)
    shutil.copy(devnet.deployment.path, home / "deployments" / devnet.deployment.path.name)
    # ape attaches to the test chain; no Kubo inherited from the caller's shell
    env = ape_env(tmp_path, home, devnet.w3.provider.endpoint_uri, IPFS_API="")

    def run(script: str, *args: str, account: int, fails: bool = False) -> str:
        """The script's stdout; with `fails`, it must exit non-zero and its stdout + stderr come back."""
        command = [
            ape,
            "run",
            script,
            *args,
            "--test-account",
            str(account),
            "--network",
            "ethereum:local:foundry",
        ]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        if fails:
            assert done.returncode != 0, f"{script} should have failed: {done.stdout[-3000:]}"
            return done.stdout + done.stderr
        assert done.returncode == 0, f"{script}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    for index in (OWNER, CURATOR, CONTRIBUTOR, MODEL_OWNER, WORKER, USER):
        devnet.client(0).token.transfer(devnet.client(index).address, 2_000 * OPEN)
    return run, LocalStore(home / "ipfs")


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return int(found.group(1))


def _paid_epoch(devnet, store: LocalStore, model_id: int, payment_id: int) -> None:
    """The worker posts and finalizes an epoch paying the contributor for one answered request."""
    worker = devnet.client(WORKER)
    evidence = {"top": []}
    body = ReceiptBody(
        model_id=model_id,
        adapter_cid="bafyadapter",
        payment_id=payment_id,
        request_index=0,
        request_hash="0x" + "11" * 32,
        output_hash="0x" + "22" * 32,
        evidence_hash=json_hash(evidence),
        contributors=[devnet.client(CONTRIBUTOR).address],
        weights_ppm=[PPM],
        basis="answer",
        issued_at=1,
        evidence=evidence,
    )
    receipt = sign_receipt(worker.signer, receipt_domain(devnet.w3.eth.chain_id, worker.vault.address), body)
    payment = worker.vault.get_payment(payment_id)
    report = build_report(
        devnet.w3.eth.chain_id,
        worker.vault.address,
        model_id,
        0,
        worker.address,
        [receipt],
        {payment_id: payment},
    )
    worker.vault.post_epoch_root(model_id, 0, report.root, report.total, store.add(report.to_bytes()))
    devnet.dev.increase_time(worker.vault.challenge_window() + 1)
    worker.vault.finalize_epoch(model_id, 0)


@pytest.mark.timeout(600)
def test_the_journeys_as_ape_scripts(devnet, ape_run, tmp_path) -> None:
    run, store = ape_run
    out = run(
        "create_datanet",
        "--name",
        "tweets",
        "--task",
        "classification",
        "--labels",
        "neg,pos",
        "--curator",
        devnet.client(CURATOR).address,
        "--stake",
        "10",
        account=OWNER,
    )
    datanet_id = _number(r"datanet (\d+) created", out)

    data = tmp_path / "mine.jsonl"
    data.write_text(
        "".join(json.dumps({"text": f"record {i} is fine", "label": "pos"}) + "\n" for i in range(6))
    )
    out = run("contribute", "--datanet", str(datanet_id), str(data), account=CONTRIBUTOR)
    contribution_id = _number(r"contribution (\d+) to datanet", out)
    assert (
        devnet.client(0).datanets.get_contribution(contribution_id).contributor
        == devnet.client(CONTRIBUTOR).address
    )

    review_contribution(devnet.client(CURATOR), store, contribution_id, True)
    publish_version(devnet.client(OWNER), store, datanet_id)
    out = run(
        "request_training",
        "--datanet",
        str(datanet_id),
        "--version",
        "1",
        "--price",
        "2",
        "--bounty",
        "100",
        account=MODEL_OWNER,
    )
    model_id, job_id = _number(r"model (\d+) registered", out), _number(r"training job (\d+) posted", out)
    assert devnet.client(0).models.get_job(job_id).bounty == 100 * OPEN
    jobs = devnet.client(0).models.job_count()
    refused = run("request_training", "--model", str(model_id), "--bounty", "10", account=USER, fails=True)
    assert f"may not request training for model {model_id}" in refused and "nothing was sent" in refused
    assert devnet.client(0).models.job_count() == jobs  # a stranger cannot retrain the owner's model

    worker = devnet.client(WORKER)  # a worker takes the job; its result goes live
    worker.workers.register_worker(1_000 * OPEN, "http://127.0.0.1:1")
    worker.models.claim_job(job_id)
    worker.models.submit_result(job_id, "bafyadapter", "bafymetrics", b"\x01" * 32, "bafyreport")
    devnet.dev.increase_time(worker.models.params().challenge_window + 1)
    worker.models.finalize(job_id)
    assert worker.models.get_model(model_id).status == ModelStatus.LIVE

    out = run("pay_for_inference", "--model", str(model_id), "--requests", "3", account=USER)
    payment_id = _number(r"payment (\d+): 3 request", out)
    payment = worker.vault.get_payment(payment_id)
    assert (payment.payer, payment.amount) == (devnet.client(USER).address, 6 * OPEN)

    _paid_epoch(devnet, store, model_id, payment_id)
    contributor = devnet.client(CONTRIBUTOR)
    before = contributor.token.balance_of(contributor.address)
    out = run("claim", account=CONTRIBUTOR)
    assert f"from model {model_id} epoch 0" in out
    assert contributor.token.balance_of(contributor.address) - before == 1 * OPEN  # 3 x 2 OPEN x 50 % / 3
    assert "has nothing to claim now" in run("claim", account=CONTRIBUTOR)
