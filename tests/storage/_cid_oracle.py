"""The independent CID oracle: tests/oracle/cid.mjs (the JS reference UnixFS importer) run by Node.

Install it with `npm ci --prefix tests/oracle`. `oracle_skip_reason()` says why it cannot run, if so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ORACLE_DIR = Path(__file__).resolve().parents[1] / "oracle"
SCRIPT = ORACLE_DIR / "cid.mjs"


def oracle_skip_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed: the JS CID oracle cannot run"
    if not (ORACLE_DIR / "node_modules" / "ipfs-unixfs-importer").is_dir():
        return "CID oracle not installed: run `npm ci --prefix tests/oracle`"
    return None


def oracle_cids(profile: str, paths: list[Path], timeout_s: float = 300) -> dict[str, tuple[str, float]]:
    """{path: (cid, seconds spent importing)} for profile "v0" (Kubo default) or "v1" (raw leaves)."""
    done = subprocess.run(["node", str(SCRIPT), profile, *map(str, paths)], capture_output=True, text=True,
                          timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"CID oracle failed ({done.returncode}): {done.stderr[-2000:]}")
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return {a["path"]: (a["cid"], a["seconds"]) for a in answers}
