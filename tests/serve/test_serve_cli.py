"""`openledger infer` (pay, ask, get answers with verified receipts) and `openledger serve`."""

from __future__ import annotations

import json
import time

import pytest
import torch
from paidmodel import USER, WORKER, cli_env
from serveproc import ServeProcess
from typer.testing import CliRunner

from worker.billing.receipt_log import ReceiptLog
from worker.chain.accounts import _dev_account, write_keystore
from worker.chain.anvil import DEFAULT_MNEMONIC
from worker.chain.types import EpochStatus
from worker.cli import app
from worker.rewards.epoch_service import EPOCH_LEASE

runner = CliRunner()


def test_infer_pays_and_prints_verified_answers(serving) -> None:
    live = serving.live
    env = cli_env(live)
    args = ["infer", str(live.model_id), "good great", "sad awful", "--server", serving.server.url]
    result = runner.invoke(app, [*args, "--dev-account", str(USER), "--json"], env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    answers = json.loads(result.stdout)
    assert [a["receipt"]["requestIndex"] for a in answers] == [0, 1]
    assert len({a["paymentId"] for a in answers}) == 1
    assert serving.receipts.count() == 2

    payment = str(answers[0]["paymentId"])
    spent = runner.invoke(
        app,
        [*args[:3], "--payment", payment, "--server", serving.server.url, "--dev-account", str(USER)],
        env=env,
    )
    assert spent.exit_code == 1 and "has 0 unused request(s) left" in spent.stderr

    text = runner.invoke(
        app, [*args[:3], "--server", serving.server.url, "--dev-account", str(USER)], env=env
    )
    assert text.exit_code == 0, text.stdout + text.stderr
    assert "paid 2 OPEN for 1 request(s)" in text.stdout and "(verified)" in text.stdout
    assert "contributors (answer attribution)" in text.stdout


def test_infer_pays_at_most_the_price_the_user_accepts(serving) -> None:
    live = serving.live
    env = cli_env(live)
    args = ["infer", str(live.model_id), "good", "--server", serving.server.url, "--dev-account", str(USER)]
    vault = live.client(0).vault
    payments = vault.payment_count()
    refused = runner.invoke(app, [*args, "--max-price", "1.5"], env=env)
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert "now costs 2 OPEN per request, above the 1.5 OPEN you accept: nothing was paid" in refused.stderr
    assert vault.payment_count() == payments
    paid = runner.invoke(app, [*args, "--max-price", "2"], env=env)
    assert paid.exit_code == 0 and "paid 2 OPEN for 1 request(s)" in paid.stdout, paid.stdout + paid.stderr


def test_infer_signs_with_an_ape_account(serving, tmp_path) -> None:
    """An ape keyfile is an eth-account keystore: `--ape-account ALIAS` decrypts it, no key on the line."""
    live = serving.live
    env = cli_env(live, APE_DATA_FOLDER=str(tmp_path), OPENLEDGER_KEYSTORE_PASSWORD="pw")
    args = ["infer", str(live.model_id), "nice", "--server", serving.server.url, "--ape-account", "alice"]
    missing = runner.invoke(app, args, env=env)
    assert missing.exit_code == 1 and "no ape account 'alice'" in missing.stderr
    key = "0x" + _dev_account(USER, DEFAULT_MNEMONIC).key.hex()
    write_keystore(key, tmp_path / "accounts" / "alice.json", "pw", iterations=2)
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)[0]["receipt"]["paymentId"] >= 1


def test_openledger_serve_answers_and_posts_epochs_in_the_background(live, tmp_path) -> None:
    """The real command in its own process: it serves the worker's live model and its epoch thread closes
    and posts the epoch once the answers' window has passed (1 s epochs, chain time)."""
    db = tmp_path / "receipts.sqlite"
    server = ServeProcess(live, tmp_path, "--epoch-seconds", "1", "--tick-seconds", "0.5", "--db", str(db))
    try:
        url = server.wait_healthy().url
        deadline = time.monotonic() + 120
        result = runner.invoke(
            app,
            [
                "infer",
                str(live.model_id),
                "good",
                "bad",
                "--server",
                url,
                "--dev-account",
                str(USER),
                "--json",
            ],
            env=cli_env(live),
        )
        assert result.exit_code == 0, result.stdout + result.stderr
        vault = live.client(0).vault
        while time.monotonic() < deadline and vault.next_epoch(live.model_id) == 0:
            live.chain.dev.mine()  # chain time moves with blocks
            time.sleep(0.5)
        epoch = vault.get_epoch(live.model_id, 0)
        assert epoch.status == EpochStatus.POSTED and epoch.poster == live.client(WORKER).address
        assert ReceiptLog(str(db)).lease_holder(EPOCH_LEASE) is not None
    finally:
        output = server.stop()  # SIGTERM, as systemd or docker stop it
    assert f"serving models [{live.model_id}]" in output and "epoch 0 of model" in output, output
    assert server.process.returncode == 0, output
    assert ReceiptLog(str(db)).lease_holder(EPOCH_LEASE) is None  # given up: a replica takes over at once


def test_serve_refuses_cuda_without_a_gpu(tmp_path) -> None:
    """`--device cuda` is an explicit choice: refused with what to do, never a silent CPU fallback."""
    if torch.cuda.is_available():
        pytest.skip("this machine's torch sees a GPU")
    result = runner.invoke(app, ["serve", "--device", "cuda"], env={"OPENLEDGER_HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert "--device cuda: torch" in result.stderr and "serve with --device cpu" in result.stderr
    wrong = runner.invoke(app, ["serve", "--device", "tpu"], env={"OPENLEDGER_HOME": str(tmp_path)})
    assert wrong.exit_code == 1 and "--device must be cpu or cuda, not 'tpu'" in wrong.stderr


def test_the_answer_query_mode_is_the_servers_choice(live, tmp_path) -> None:
    """Each answer's gradient is taken at every checkpoint (the engine's default) unless the server was
    started with `--query-checkpoints final`; the two give different scores for the same answer, and a
    mode the engine does not know is refused before anything starts."""
    from paidmodel import make_service

    from worker.attribution import ScoreArguments
    from worker.errors import AttributionError
    from worker.serve import AnswerSettings, ServeConfig

    modes = {"default": AnswerSettings(), "final": AnswerSettings(query_checkpoints="final")}
    scores = {}
    for name, answers in modes.items():
        service = make_service(live, tmp_path / name, ServeConfig(answers=answers))
        served = service.catalog.get(live.model_id)
        expected = ScoreArguments().query_checkpoints if name == "default" else "final"
        assert served.analyzer.args.score.query_checkpoints == expected
        measured = served.analyzer.measure_query({"text": "good great happy"})
        scores[name] = served.index.scores(measured.features)[0]
        service.receipts.close()
    assert ScoreArguments().query_checkpoints == "all"
    assert not torch.allclose(scores["default"], scores["final"])
    env = {"OPENLEDGER_HOME": str(tmp_path), "COLUMNS": "200"}  # the error panel on one line
    wrong = runner.invoke(app, ["serve", "--query-checkpoints", "some"], env=env)
    assert wrong.exit_code == 2 and "query_checkpoints 'some' is not 'all' or 'final'" in wrong.stderr
    with pytest.raises(AttributionError, match="query_checkpoints 'first'"):
        AnswerSettings(query_checkpoints="first")  # from Python too: refused before any model loads
