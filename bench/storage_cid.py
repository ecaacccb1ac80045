"""CID hashing throughput: worker.storage (aleph-cid) vs the JS reference importer, same file, same run.

    python bench/storage_cid.py [--mb 100] [--repeat 3]

Writes a deterministic file (default 100 MB) under .bench-cache/, warms the page cache, then times each
implementation on it for both profiles (CIDv1 raw leaves = the project profile; CIDv0 = Kubo's default),
taking the best of --repeat runs. The JS figure is the importer's own time (Node start-up excluded);
plain sha256 over the same bytes is shown as the ceiling. Every implementation must agree on each CID.
The JS oracle needs `npm ci --prefix tests/oracle`; without it only our rows are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.storage import KUBO_DEFAULT_PROFILE, PROJECT_PROFILE, compute_file_cid  # noqa: E402

ORACLE = ROOT / "tests" / "oracle" / "cid.mjs"
PROFILES = {"v1": PROJECT_PROFILE, "v0": KUBO_DEFAULT_PROFILE}


def make_file(mb: int) -> Path:
    path = ROOT / ".bench-cache" / f"cid-bench-{mb}MB.bin"
    size = mb * 1_000_000
    if path.is_file() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    block = random.Random(42).randbytes(8 * 1024 * 1024 + 5)
    with open(path, "wb") as handle:
        left = size
        while left:
            left -= handle.write(block[: min(left, len(block))])
    return path


def best_of(repeat: int, run) -> tuple[float, str]:
    timings, result = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def sha256_only(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def js_oracle(path: Path, profile: str, repeat: int) -> tuple[float, str] | None:
    if shutil.which("node") is None or not (ORACLE.parent / "node_modules" / "ipfs-unixfs-importer").is_dir():
        return None
    done = subprocess.run(
        ["node", str(ORACLE), profile, *[str(path)] * repeat],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return min(a["seconds"] for a in answers), answers[-1]["cid"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="file size in MB (10^6 bytes)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = make_file(args.mb)
    size_mb = path.stat().st_size / 1e6
    sha256_only(path)  # warm the page cache
    rows = []
    seconds, _ = best_of(args.repeat, lambda: sha256_only(path))
    rows.append(("sha256 only (ceiling)", "-", seconds, "-"))
    mismatches = 0
    for name, profile in PROFILES.items():
        ours_s, ours_cid = best_of(args.repeat, lambda p=profile: compute_file_cid(path, p))
        rows.append(("worker.storage (aleph-cid)", name, ours_s, ours_cid))
        js = js_oracle(path, name, args.repeat)
        if js is None:
            missing = "not installed: npm ci --prefix tests/oracle"
            rows.append(("ipfs-unixfs-importer (JS)", name, float("nan"), missing))
            continue
        rows.append(("ipfs-unixfs-importer (JS)", name, js[0], js[1]))
        mismatches += js[1] != ours_cid
    print(f"CID throughput on {size_mb:.0f} MB ({path.name}), best of {args.repeat}\n")
    print(f"{'implementation':<28} {'profile':<7} {'seconds':>8} {'MB/s':>8}  cid")
    for impl, profile, seconds, cid in rows:
        rate = size_mb / seconds if seconds == seconds and seconds > 0 else float("nan")
        print(f"{impl:<28} {profile:<7} {seconds:>8.3f} {rate:>8.0f}  {cid}")
    if mismatches:
        print(f"\nERROR: {mismatches} CID(s) differ between implementations")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
