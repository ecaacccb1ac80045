"""`openledger rewards show` and `openledger rewards claim` against a finalized epoch on a real Anvil."""

from __future__ import annotations

import json

from epoch_helpers import finalized_epoch, posted_epoch
from paidmodel import CONTRIBUTORS, cli_env
from typer.testing import CliRunner

from worker.cli import app

runner = CliRunner()


def _run(env, *args: str, code: int = 0):
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def test_show_then_claim_then_claim_again(serving) -> None:
    live = serving.live
    report = finalized_epoch(serving)
    index = next(i for i in CONTRIBUTORS if report.amounts.get(live.client(i).address))
    address = live.client(index).address
    env = cli_env(live)

    shown = json.loads(_run(env, "rewards", "show", address, "--json").stdout)
    assert shown["rewards"][0]["state"] == "claimable"
    assert int(shown["rewards"][0]["amount"]) == report.amounts[address]

    before = live.client(index).token.balance_of(address)
    claimed = json.loads(_run(env, "rewards", "claim", "--dev-account", str(index), "--json").stdout)
    assert [c["epoch"] for c in claimed["claimed"]] == [0]
    assert live.client(index).token.balance_of(address) - before == report.amounts[address]

    again = _run(env, "rewards", "claim", "--dev-account", str(index), code=1)
    assert "has nothing to claim now" in again.stderr
    block = live.chain.w3.eth.block_number
    twice = _run(
        env,
        "rewards",
        "claim",
        "--model",
        str(live.model_id),
        "--epoch",
        "0",
        "--dev-account",
        str(index),
        code=1,
    )
    assert "already claimed" in twice.stderr and "nothing was sent" in twice.stderr
    assert live.chain.w3.eth.block_number == block
    text = _run(env, "rewards", "show", "--dev-account", str(index)).stdout
    assert f"model {live.model_id} epoch 0" in text and "claimed" in text


def test_show_says_when_an_epoch_becomes_claimable(serving) -> None:
    live = serving.live
    report = posted_epoch(serving)
    address = next(iter(report.amounts))
    text = _run(cli_env(live), "rewards", "show", address).stdout
    assert "in challenge window" in text and "claimable after" in text
    nobody = _run(cli_env(live), "rewards", "show", live.client(0).address).stdout
    assert "has no rewards in any posted epoch" in nobody
