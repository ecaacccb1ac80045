"""An adapter directory is the same bytes whoever trains it and wherever: two processes with other hash
seeds, working directories, homes, OPENLEDGER_HOME and base-model install paths give one directory CID."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tinymodels import sentiment_records

from worker.canonical import canonical_json
from worker.storage import LocalStore, add_directory, bundle_files
from worker.train import TrainingSpec
from worker.train.catalogue import MODELS_ENV

ROOT = Path(__file__).resolve().parents[2]

# Trains in a fresh interpreter: the hash seed and everything read at import time are the child's own.
TRAIN = """
import sys
from pathlib import Path
from worker.train import TrainingSpec, read_jsonl, train
spec, records, out = sys.argv[1:4]
train(TrainingSpec.from_json(Path(spec).read_text()), read_jsonl(records), out)
"""


def _machine(root: Path, tiny_bert: Path, hash_seed: str) -> tuple[dict[str, str], Path]:
    """A separate 'machine' under `root`: its own copy of the base model, home, state dir and cwd."""
    shutil.copytree(tiny_bert, root / "models" / "tiny-bert")
    for name in ("home", "state", "cwd"):
        (root / name).mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLEDGER_")}
    env.update(
        PYTHONHASHSEED=hash_seed,
        HOME=str(root / "home"),
        USER=root.name,
        LOGNAME=root.name,
        OPENLEDGER_HOME=str(root / "state"),
        PYTHONPATH=str(ROOT),  # this checkout's code, whatever the working directory
        **{MODELS_ENV: str(root / "models")},
    )
    return env, root / "cwd"


def test_adapter_directory_cid_is_independent_of_process_and_install_path(tiny_bert, tmp_path):
    # Three target modules: peft keeps them in a set, whose order follows the hash seed.
    spec = TrainingSpec(
        base_model="tiny-bert", epochs=1, batch_size=8, lr=1e-2, max_length=16,
        validation_fraction=0.2, target_modules=("value", "query", "key"),
    )  # fmt: skip
    spec_path, records_path = tmp_path / "spec.json", tmp_path / "records.jsonl"
    spec_path.write_text(spec.to_json())
    records_path.write_bytes(b"".join(canonical_json(r) + b"\n" for r in sentiment_records(24)))
    runs = []
    for name, seed in (("alice", "1"), ("bob", "2")):
        env, cwd = _machine(tmp_path / name, tiny_bert, seed)
        out = tmp_path / name / "adapter"
        args = [sys.executable, "-c", TRAIN, str(spec_path), str(records_path), str(out)]
        runs.append((out, subprocess.Popen(args, env=env, cwd=cwd, stderr=subprocess.PIPE, text=True)))
    for _, process in runs:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr[-3000:]

    store = LocalStore(tmp_path / "store")
    (a, _), (b, _) = runs
    cid_a, cid_b = add_directory(store, a), add_directory(store, b)
    files_a, files_b = bundle_files(store, cid_a), bundle_files(store, cid_b)
    differing = sorted(n for n in files_a.keys() | files_b.keys() if files_a.get(n) != files_b.get(n))
    assert cid_a == cid_b, differing

    config = (a / "adapter_config.json").read_text()
    assert str(tmp_path) not in config and '"/' not in config  # no absolute path of any kind
    parsed = json.loads(config)
    assert parsed["base_model_name_or_path"] == "tiny-bert"
    assert parsed["target_modules"] == ["key", "query", "value"]
    for path in a.rglob("*.json"):
        assert path.read_bytes() == canonical_json(json.loads(path.read_bytes())) + b"\n", path.name
    assert not any(str(tmp_path).encode() in p.read_bytes() for p in a.rglob("*") if p.is_file())
