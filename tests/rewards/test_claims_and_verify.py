"""Claims are checked before any gas is spent; `verify epoch` recomputes a posted epoch from its receipts
and catches forged receipts and double counting."""

from __future__ import annotations

import pytest
import typer
from epoch_helpers import answer, finalized_epoch, hand_report, posted_epoch
from paidmodel import CONTRIBUTORS, WORKER, cli_env
from typer.testing import CliRunner

from worker.billing import Receipt
from worker.cli.rewards_commands import verify_epoch as verify_epoch_command
from worker.rewards import (
    RewardsError,
    build_report,
    claim,
    entitlements,
    submit_claim,
    verify_epoch,
)

runner = CliRunner()


def _unchanged(live, client):
    """(block number, ETH balance) of `client`: a refused claim must change neither."""
    return live.chain.w3.eth.block_number, client.eth_balance()


def test_claiming_twice_or_too_early_is_refused_before_gas(serving) -> None:
    live = serving.live
    report = posted_epoch(serving)
    contributor = next(live.client(i) for i in CONTRIBUTORS if report.amounts.get(live.client(i).address))
    before = _unchanged(live, contributor)
    with pytest.raises(RewardsError, match="still in its challenge window"):
        claim(contributor, live.store, live.model_id, 0)
    assert _unchanged(live, contributor) == before
    live.chain.dev.increase_time(live.client(0).vault.challenge_window() + 1)
    live.client(0).vault.finalize_epoch(live.model_id, 0)
    claim(contributor, live.store, live.model_id, 0)
    before = _unchanged(live, contributor)
    with pytest.raises(RewardsError, match="already claimed .* nothing was sent"):
        claim(contributor, live.store, live.model_id, 0)
    assert _unchanged(live, contributor) == before
    [row] = entitlements(contributor, live.store, contributor.address)
    assert (row.state, row.amount) == ("claimed", report.amounts[contributor.address])


def test_a_stale_proof_is_refused_before_gas(serving) -> None:
    live = serving.live
    report = finalized_epoch(serving)
    account = next(iter(report.amounts))
    leaf, _ = report.claim_of(account)
    stale = build_report(
        report.chain_id,
        report.vault,
        report.model_id,
        0,
        report.poster,
        report.receipts[:1],
        {p.payment_id: p for p in report.payments},
    )
    proof = stale.claim_of(account)[1] if account in stale.amounts else []
    client = live.client(CONTRIBUTORS[0])
    before = _unchanged(live, client)
    with pytest.raises(RewardsError, match="stale"):
        submit_claim(client, live.model_id, 0, leaf, proof)
    assert _unchanged(live, client) == before


def test_verify_recomputes_the_posted_epoch(serving) -> None:
    live = serving.live
    report = posted_epoch(serving)
    result = verify_epoch(live.client(0), live.store, live.model_id, 0)
    assert result.ok and result.receipts == 4 and result.total == report.total
    assert result.root == "0x" + report.root.hex() and result.problems == []


def _post(live, receipts, epoch: int) -> None:
    """The worker posts an epoch made of these receipts, whatever they are."""
    worker = live.client(WORKER)
    report = hand_report(live, receipts, epoch)
    cid = live.store.add(report.to_bytes())
    worker.vault.post_epoch_root(live.model_id, epoch, report.root, report.total, cid)


def test_verify_catches_a_forged_receipt(serving) -> None:
    live = serving.live
    answer(serving)
    receipts = serving.receipts.pending(live.model_id)
    favourite = live.client(CONTRIBUTORS[2]).address  # the worker pays one contributor everything
    forged = Receipt(**dict(receipts[0].model_dump(), contributors=[favourite], weights_ppm=[1_000_000]))
    _post(live, [forged, *receipts[1:]], 0)
    result = verify_epoch(live.client(0), live.store, live.model_id, 0)
    assert not result.ok
    assert any("signature recovers to" in p for p in result.problems), result.problems


def test_verify_catches_a_receipt_paid_twice(serving) -> None:
    live = serving.live
    answer(serving)
    receipts = serving.receipts.pending(live.model_id)
    _post(live, receipts[:2], 0)
    serving.user().pay(live.model_id, 4)  # fills the pool: the vault alone cannot see the double count
    _post(live, receipts[1:], 1)  # receipt 1 again
    assert verify_epoch(live.client(0), live.store, live.model_id, 0).ok
    result = verify_epoch(live.client(0), live.store, live.model_id, 1)
    assert not result.ok and any("already paid in an earlier epoch" in p for p in result.problems)


def test_verify_epoch_command(serving) -> None:
    live = serving.live
    answer(serving)
    receipts = serving.receipts.pending(live.model_id)
    _post(live, receipts, 0)
    forged = Receipt(**dict(receipts[0].model_dump(), weights_ppm=[1] * len(receipts[0].weights_ppm)))
    serving.user().pay(live.model_id, 1)
    _post(live, [forged], 1)
    app = typer.Typer()  # verify_commands registers it as `openledger verify epoch`
    app.callback()(lambda: None)
    app.command("epoch")(verify_epoch_command)
    env = cli_env(live)
    good = runner.invoke(app, ["epoch", str(live.model_id), "0"], env=env)
    assert good.exit_code == 0 and "match" in good.stdout, good.stdout + good.stderr
    bad = runner.invoke(app, ["epoch", str(live.model_id), "1", "--json"], env=env)
    assert bad.exit_code == 1, bad.stdout + bad.stderr
    assert '"match": false' in bad.stdout and "signature recovers to" in bad.stdout
