"""The README's CLI journey, run as written: its three journey blocks (a Datanet, a model and its
training, paid inference and rewards) executed command by command in bash, in order, from a fresh state
directory, against the node its first command starts on the default port. Every command must succeed;
the background ones (`openledger node &`, `openledger serve &`) are stopped with SIGTERM at the end and
must exit cleanly, leaving nothing behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from worker.chain.anvil import port_in_use
from worker.data.sentiment_corpus import sentiment_records

ROOT = Path(__file__).resolve().parents[2]
JOURNEYS = (
    "A Datanet from the command line",
    "A model, its training and the worker daemon",
    "Paid inference and rewards",
)
COMMAND_TIMEOUT_S = 600


def journey_blocks(readme: str) -> list[list[str]]:
    """The bash blocks that follow each journey's heading, as commands (continuations joined, comment
    lines dropped)."""
    blocks = []
    for title in JOURNEYS:
        start = readme.index(f"**{title}**")
        body = re.search(r"```bash\n(.*?)```", readme[start:], re.S)
        assert body is not None, f"no bash block after {title!r}"
        commands, pending = [], ""
        for line in body.group(1).splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            commands.append(pending + line)
            pending = ""
        blocks.append(commands)
    return blocks


def _without_comment(command: str) -> str:
    return re.sub(r"\s+#\s.*$", "", command).strip()


def _write_jsonl(path: Path, rows: list[dict[str, str]], keys: tuple[str, ...]) -> None:
    path.write_text("".join(json.dumps({k: r[k] for k in keys}) + "\n" for r in rows))


def test_the_readme_blocks_parse() -> None:
    blocks = journey_blocks((ROOT / "README.md").read_text())
    assert [len(b) > 3 for b in blocks] == [True, True, True]
    assert _without_comment(blocks[0][0]) == "openledger node --deploy &"
    assert all(_without_comment(c).startswith(("openledger", "sleep")) for b in blocks for c in b)


@pytest.mark.timeout(2400)
def test_the_readme_cli_journey_runs_as_written(tmp_path: Path) -> None:
    for port in (8545, 8000):
        if port_in_use("127.0.0.1", port):
            pytest.skip(f"port {port} is taken on this machine: the README's journey uses the default ports")
    # The user's own files, which the README assumes are there. Training, replaying and verifying on them
    # is the bulk of this test: the Datanet's 300 is about the least that trains minilm's default spec
    # past the journey's --min-accuracy 0.6 (160 gave 0.50); the offline `train` has no such bar.
    rows = sentiment_records(0)
    _write_jsonl(tmp_path / "mine.jsonl", rows[:300], ("text", "label"))
    _write_jsonl(tmp_path / "train.jsonl", rows[300:400], ("text", "label"))
    _write_jsonl(tmp_path / "queries.jsonl", rows[400:405], ("text",))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENLEDGER_", "IPFS_"))}
    env |= {
        "OPENLEDGER_HOME": str(tmp_path / "state"),
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    background: list[tuple[str, subprocess.Popen[bytes]]] = []
    log = tmp_path / "journey.log"
    try:
        for block in journey_blocks((ROOT / "README.md").read_text()):
            for command in block:
                line = _without_comment(command)
                with log.open("a") as out:
                    out.write(f"\n$ {line}\n")
                    out.flush()
                    if line.endswith("&"):
                        process = subprocess.Popen(
                            ["bash", "-c", f"exec {line[:-1].strip()}"],
                            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                        )  # fmt: skip
                        background.append((line, process))
                        continue
                    done = subprocess.run(
                        ["bash", "-c", line],
                        cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                        timeout=COMMAND_TIMEOUT_S,
                    )  # fmt: skip
                assert done.returncode == 0, f"`{line}` exited {done.returncode}:\n{log.read_text()[-6000:]}"
        transcript = log.read_text()
        assert "MATCH" in transcript and "model 1 is live on it" in transcript
        assert "verified" in transcript and "claimed" in transcript, transcript[-4000:]
    finally:
        for _, process in reversed(background):  # the server first, then the node it talks to
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    for line, process in background:
        assert process.returncode == 0, (
            f"`{line}` ended with {process.returncode}:\n{log.read_text()[-4000:]}"
        )
    assert not port_in_use("127.0.0.1", 8545) and not port_in_use("127.0.0.1", 8000)
