"""Many adapters on one base: memory and throughput of 50 LoRA adapters served on one copy of a base
model, against one adapter alone and against the old way (a base copy per model).

`python bench/adapters.py [--adapters 50] [--requests 24] [--separate 3] [--json]` (`make bench-adapters`).
- Base: the bundled `smollm2-135m` (SmolLM2-135M-Instruct, GGUF dequantised to fp32), a language model.
- Adapters: made directly with peft on that base, no training: LoRA r=8 on q_proj/v_proj (the default
  targets) with random A and B (B small, so answers stay readable), each with its own seed, saved as a
  model directory (spec.json + adapter_model.safetensors) under .bench-cache/adapters/. Each served
  model gets a synthetic attribution index of 512 records x 1024 features (real indexes of that size
  are built at training time; building 50 here would take longer than the whole benchmark).
- Each scenario runs in a fresh process (so resident memory is its own): `shared` loads N adapters
  through serve's BasePool (one base), `single` one adapter, `separate` K models each with its own
  base (the way `openledger serve` loaded models before, one Analyzer each). Then sequential requests,
  each to a random model of the scenario (a switch of adapter nearly every time in `shared`): a greedy
  completion of 4 tokens with per-answer attribution (one backward pass), as served. Throughput is
  answers per second of that sequential loop (answers on one base run one at a time in the server). In
  `shared`, rounds of mixed requests alternate with rounds of requests to model 1 only (the one-adapter
  reference), two answers each, so that whatever else the machine runs weighs on both alike.
- Memory: resident set growth from before the first base is loaded to after the last answer (freed heap
  trimmed first; the libraries already imported), and the bytes of every tensor the served models hold,
  each storage once. The target is RSS growth <= base + N x adapter + 20 %, with base what one model
  served alone adds to the process less its adapter (the base's fp32 weights, its tokenizer, the
  runtime's buffers) and adapter what one served model holds of its own (LoRA tensors + index).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

CACHE = ROOT / ".bench-cache" / "adapters"
BASE = "smollm2-135m"
PROMPTS = ["The capital of France is", "My favourite food is", "Once upon a time", "The weather today"]
RECORDS, FEATURES, MAX_TOKENS = 512, 1024, 4


def _rss_bytes() -> int:
    """Resident memory, after handing freed heap back to the OS (the GGUF dequantisation leaves a few
    hundred MB of freed buffers that glibc would otherwise keep mapped)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def make_adapters(count: int) -> list[Path]:
    """`count` adapter directories on the base (cached), random LoRA weights per seed."""
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    from worker.train.modeling import build_model
    from worker.train.spec import TrainingSpec

    spec = TrainingSpec(base_model=BASE, task="generation", max_length=64, save_checkpoints=False)
    dirs = [CACHE / f"adapter-{i:03d}" for i in range(count)]
    missing = [d for d in dirs if not (d / "adapter_model.safetensors").is_file()]
    if not missing:
        return dirs
    model = build_model(spec).model
    for d in missing:
        seed = int(d.name.split("-")[1])
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.requires_grad:
                    scale = 0.02 if "lora_A" in name else 0.002
                    p.copy_(torch.randn(p.shape, generator=gen) * scale)
        d.mkdir(parents=True, exist_ok=True)
        save_file(get_peft_model_state_dict(model), str(d / "adapter_model.safetensors"))
        (d / "spec.json").write_text(spec.replace(seed=seed).to_json())
    return dirs


def _served(model_id: int, directory: Path, pool: Any) -> Any:
    """A served model as serve builds it, with a synthetic index; `pool` None: its own base (old way)."""
    import torch

    from worker.attribution import Analyzer, AttributionArguments, AttributionIndex, FeatureArguments
    from worker.attribution.index import IndexMember
    from worker.attribution.report import RecordProvenance
    from worker.serve.explain import RecordOwners
    from worker.serve.served_model import ServedModel

    args = AttributionArguments(features=FeatureArguments(projection_dim=FEATURES))
    gen = torch.Generator().manual_seed(model_id)
    feats = torch.randn(RECORDS, FEATURES, generator=gen)
    member = IndexMember("final", feats, feats * 0.5, torch.zeros(RECORDS), 1.0)
    hashes = [f"{model_id:08x}{i:056x}" for i in range(RECORDS)]
    index = AttributionIndex([member], hashes, {"features": args.to_dict()["features"]})
    owners = RecordOwners(
        [RecordProvenance(h, str(i % 7), "0x" + f"{i % 7 + 1:040x}") for i, h in enumerate(hashes)]
    )
    if pool is None:
        analyzer, adapter = Analyzer(directory, args), None
    else:
        adapter = pool.load(directory, args)
        analyzer = adapter.analyzer
    return ServedModel(model_id, f"bench-{model_id}", analyzer, index, owners, {}, adapter=adapter)


def _scenario(kind: str, count: int, requests: int, dirs: list[str], out: Any) -> None:
    """One scenario in its own process: load `count` models, then `requests` mixed answers."""
    # the libraries a server has imported anyway, so that the memory measured is the models'
    import peft  # noqa: F401
    import transformers.modeling_gguf_pytorch_utils  # noqa: F401
    import transformers.models.llama.modeling_llama  # noqa: F401

    from worker.serve.adapters import BasePool

    before = _rss_bytes()
    pool = BasePool("cpu") if kind != "separate" else None
    started = time.perf_counter()
    served = [_served(i + 1, Path(dirs[i]), pool) for i in range(count)]
    load_s = time.perf_counter() - started
    rng = random.Random(0)
    for s in served[: min(2, count)]:  # warm-up: first-use costs (allocator, lazy projector)
        s.complete(PROMPTS[0], MAX_TOKENS)
    # Rounds alternate between mixed requests (a random model each) and requests to the first model
    # only, so that whatever else the machine runs weighs on both alike.
    rounds, texts = max(1, requests // 2), []
    elapsed = {"mixed": 0.0, "one": 0.0}
    cpu = {"mixed": 0.0, "one": 0.0}  # process CPU seconds: less swayed than wall time by other load
    for r in range(rounds):
        for mode in ("mixed", "one") if r % 2 == 0 else ("one", "mixed"):
            started, cpu_started = time.perf_counter(), time.process_time()
            for n in range(requests // rounds if mode == "mixed" or kind == "shared" else 0):
                target = rng.randrange(count) if mode == "mixed" else 0
                answer = served[target].complete(PROMPTS[n % len(PROMPTS)], MAX_TOKENS)
                texts.append(answer.output["text"])
            elapsed[mode] += time.perf_counter() - started
            cpu[mode] += time.process_time() - cpu_started
    done = rounds * (requests // rounds)
    one_s = elapsed["one"] or float("nan")
    base = served[0].analyzer.model
    base_bytes = sum(p.numel() * p.element_size() for p in base.parameters() if not p.requires_grad)
    lora = sum(p.numel() * p.element_size() for p in base.parameters() if p.requires_grad)
    index_bytes = 2 * RECORDS * FEATURES * 4
    copies = len({id(s.analyzer.model) for s in served})
    storages: dict[int, int] = {}  # every tensor the served models hold, each storage counted once
    for s in served:
        member_states = [t for _, state in s.analyzer.members for t in state.values()]
        own = [*(s.adapter.state.values() if s.adapter else []), *member_states]
        index = [t for m in s.index.members for t in (m.features, m.preconditioned, m.losses)]
        for t in [*s.analyzer.model.parameters(), *own, *index]:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
    out.put(
        {
            "scenario": kind,
            "models": count,
            "base_copies": copies,
            "load_s": load_s,
            "requests": done,
            "answers_per_s": done / elapsed["mixed"],
            "one_model_answers_per_s": done / one_s,
            "cpu_s_per_answer": cpu["mixed"] / done,
            "one_model_cpu_s_per_answer": cpu["one"] / done if cpu["one"] else float("nan"),
            "rss_growth_mb": (_rss_bytes() - before) / 2**20,
            "tensor_mb": sum(storages.values()) / 2**20,
            "base_mb": base_bytes / 2**20,
            "adapter_mb": (lora + index_bytes) / 2**20,
            "distinct_answers": len(set(texts)),
        }
    )


def run(kind: str, count: int, requests: int, dirs: list[Path]) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_scenario, args=(kind, count, requests, [str(d) for d in dirs], queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--adapters", type=int, default=50)
    parser.add_argument("--requests", type=int, default=24, help="answers per mode and scenario")
    parser.add_argument("--separate", type=int, default=3, help="models loaded the old way (a base each)")
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    dirs = make_adapters(opts.adapters)
    rows = [
        run("single", 1, opts.requests, dirs),
        run("shared", opts.adapters, opts.requests, dirs),
        run("separate", opts.separate, opts.requests, dirs),
    ]
    single, shared = rows[0], rows[1]
    # base: what one model served alone costs in RSS less its adapter (base weights, tokenizer, runtime)
    base_rss = single["rss_growth_mb"] - single["adapter_mb"]
    budget = 1.2 * (base_rss + opts.adapters * shared["adapter_mb"])
    ratio = shared["answers_per_s"] / shared["one_model_answers_per_s"]
    cpu_ratio = shared["one_model_cpu_s_per_answer"] / shared["cpu_s_per_answer"]
    verdict = {
        "base_rss_mb": base_rss,
        "memory_budget_mb": budget,
        "tensor_budget_mb": 1.2 * (shared["base_mb"] + opts.adapters * shared["adapter_mb"]),
        "memory_ok": shared["rss_growth_mb"] <= budget,
        # mixed over N adapters against one adapter, timed in the same process in alternating rounds
        "throughput_ratio": ratio,
        "throughput_ok": ratio >= 0.9,
        "cpu_throughput_ratio": cpu_ratio,
        "single_process_ratio": shared["answers_per_s"] / single["answers_per_s"],
    }
    if opts.json:
        print(json.dumps({"rows": rows, **verdict}, indent=2))
        return
    table = Table(title=f"{opts.adapters} adapters on one {BASE} base vs one adapter vs a base per model")
    columns = ("scenario", "models", "base copies", "load s", "mixed answers/s", "model 1 only answers/s")
    for column in (*columns, "CPU s/answer", "RSS growth MB", "tensors MB", "RSS MB/model"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r["scenario"],
            str(r["models"]),
            str(r["base_copies"]),
            f"{r['load_s']:.1f}",
            f"{r['answers_per_s']:.2f}",
            f"{r['one_model_answers_per_s']:.2f}" if r["scenario"] == "shared" else "-",
            f"{r['cpu_s_per_answer']:.2f}"
            + (f" (1 only {r['one_model_cpu_s_per_answer']:.2f})" if r["scenario"] == "shared" else ""),
            f"{r['rss_growth_mb']:.0f}",
            f"{r['tensor_mb']:.0f}",
            f"{r['rss_growth_mb'] / r['models']:.1f}",
        )
    console = Console(width=150)
    console.print(table)
    console.print(
        f"base {base_rss:.0f} MB resident ({shared['base_mb']:.0f} MB of weights), adapter (LoRA + index) "
        f"{shared['adapter_mb']:.1f} MB: budget {budget:.0f} MB for {opts.adapters}, used "
        f"{shared['rss_growth_mb']:.0f} MB "
        f"({'ok' if verdict['memory_ok'] else 'OVER'}); mixed throughput {ratio:.0%} of one adapter's in the "
        f"same process ({'ok' if verdict['throughput_ok'] else 'UNDER'}, target >= 90 %; by CPU time "
        f"{cpu_ratio:.0%}), "
        f"{verdict['single_process_ratio']:.0%} of the one-adapter process's"
    )


if __name__ == "__main__":
    main()
