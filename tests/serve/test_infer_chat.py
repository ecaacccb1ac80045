"""`openledger infer` with a language model: by chat when its base has a chat template (or `--chat`),
by plain completion otherwise (or `--no-chat`). Its own module: the live language model's fixture
cannot share a module with the live classifier's (both register the worker)."""

from __future__ import annotations

import json

from paidmodel import USER, cli_env
from typer.testing import CliRunner

from worker.cli import app

runner = CliRunner()


CHAT_TEMPLATE = "{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }}\n{% endfor %}<assistant>"


def test_infer_chats_with_a_language_model_by_its_chat_template(lm_serving) -> None:
    """`infer` sends a language model's inputs to /v1/chat/completions when the server lists a chat
    template for it (or with --chat), as user messages; to /v1/completions otherwise (or --no-chat)."""
    live, url = lm_serving.live, lm_serving.server.url

    def infer(text: str, *options: str) -> str:
        args = ["infer", str(live.model_id), text, "--server", url, "--dev-account", str(USER)]
        result = runner.invoke(app, [*args, "--max-tokens", "6", "--json", *options], env=cli_env(live))
        assert result.exit_code == 0, result.stdout + result.stderr
        [answer] = json.loads(result.stdout)
        assert answer["receipt"]["modelId"] == live.model_id
        return str(answer["output"]["text"])

    [listed] = lm_serving.user().models()
    assert listed["chat_template"] is False  # the tiny model's tokenizer has none
    assert infer("question 3:") == infer("question 3:", "--no-chat")
    # --chat without a template: the plain transcript's completion
    assert infer("question 3:", "--chat") == infer("user: question 3:\nassistant:", "--no-chat")

    served = lm_serving.service.catalog.get(live.model_id)
    served.analyzer.loaded.tokenizer.chat_template = CHAT_TEMPLATE
    [listed] = lm_serving.user().models()
    assert listed["chat_template"] is True
    assert infer("question 3:") == infer("<user> question 3:\n<assistant>", "--no-chat")
