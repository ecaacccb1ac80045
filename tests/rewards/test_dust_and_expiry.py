"""Nothing stays stranded: an epoch reserves exactly the sum of its leaves and every rounding remainder
stays available in the pool; after the claim deadline a claim is refused with a clear message and anyone
sweeps the unclaimed rest back into the pool (`openledger rewards show / claim / sweep`)."""

from __future__ import annotations

import json

from epoch_helpers import EPOCH, TEXTS, finalized_epoch
from paidmodel import CONTRIBUTORS, PRICE, STRANGER, WORKER, cli_env, second_live_model
from typer.testing import CliRunner

from worker.chain.types import EpochStatus
from worker.cli import app
from worker.rewards import EpochService, load_report

runner = CliRunner()


def _run(env, *args: str, code: int = 0):
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def test_the_total_is_the_sum_of_the_leaves_and_the_dust_stays_available(serving) -> None:
    live = serving.live
    model_id = second_live_model(live, price=PRICE + 7)  # an odd price: every split leaves remainders
    user = serving.user()
    payment = user.pay(model_id, 3).created_id
    for index, text in enumerate(TEXTS[:3]):
        user.predict(model_id, text, payment, index)
    service = EpochService(live.client(WORKER), live.store, serving.receipts, EPOCH, models=[model_id])
    service.tick()
    live.chain.dev.increase_time(EPOCH)
    assert [e.action for e in service.tick()] == ["closed", "posted"]

    vault = live.client(0).vault
    report = load_report(live.store, vault.report_cid(model_id, 0))
    leaves = [report.claim_tree.leaf(i) for i in range(len(report.claim_tree))]
    onchain = vault.get_epoch(model_id, 0)
    assert onchain.total == report.total == sum(leaf.amount for leaf in leaves)
    share = vault.get_payment(payment).contributors_share
    assert report.dust > 0
    assert report.value == report.receipts_total + sum(report.excluded.values()) + report.dust
    assert vault.pool(model_id).available == share - report.total  # floors of the split, unit and weights
    accounting = json.loads(report.to_bytes())["accounting"]
    assert int(accounting["dust"]) == report.dust and int(accounting["total"]) == report.total


def test_after_the_claim_deadline_claims_are_refused_and_the_rest_is_swept_back(serving) -> None:
    live = serving.live
    report = finalized_epoch(serving)
    env = cli_env(live)
    index = next(i for i in CONTRIBUTORS if report.amounts.get(live.client(i).address))
    address = live.client(index).address
    shown = json.loads(_run(env, "rewards", "show", address, "--json").stdout)["rewards"][0]
    vault = live.client(0).vault
    deadline = vault.get_epoch(live.model_id, 0).deadline
    assert shown["state"] == "claimable" and shown["claimDeadline"] == deadline
    assert "claim by" in _run(env, "rewards", "show", address).stdout

    sweep = ("rewards", "sweep", str(live.model_id), "0", "--dev-account", str(STRANGER))
    assert "can still be claimed until" in _run(env, *sweep, code=1).stderr
    live.chain.dev.increase_time(vault.claim_period() + 1)
    assert "expired" in _run(env, "rewards", "show", address).stdout
    block = live.chain.w3.eth.block_number
    late = _run(env, "rewards", "claim", "--model", str(live.model_id), "--epoch", "0",
                "--dev-account", str(index), code=1)
    assert "claim period of epoch 0" in late.stderr and "Nothing was sent" in late.stderr
    assert live.chain.w3.eth.block_number == block

    available = vault.pool(live.model_id).available
    swept = json.loads(_run(env, *sweep, "--json").stdout)
    assert int(swept["unclaimed"]) == report.total  # nobody claimed
    assert vault.pool(live.model_id).available == available + report.total
    assert vault.pool(live.model_id).reserved == 0
    assert vault.get_epoch(live.model_id, 0).status == EpochStatus.SWEPT
    again = _run(env, *sweep, code=1)
    assert "already swept" in again.stderr
    late = _run(env, "rewards", "claim", "--model", str(live.model_id), "--epoch", "0",
                "--dev-account", str(index), code=1)
    assert "went back to the model's pool" in late.stderr
