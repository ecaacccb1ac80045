"""Make a run replayable: fixed seeds, deterministic kernels, a fixed thread count, recorded versions."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator

import torch


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity set where the OS has one, else all of them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity sets
        return os.cpu_count() or 1


def pick_device(requested: str | None = None) -> torch.device:
    """The requested device, else the GPU when there is one, else the CPU."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def deterministic(seed: int, threads: int) -> Iterator[None]:
    """Seeded, deterministic-kernel, fixed-thread section; global torch settings are restored after.

    The thread count is part of what fixes the bits: parallel reductions split their work per thread and
    add the partial sums in another order for another count, so a replay needs the same `threads` (the
    spec's `cpu_threads`), not the same machine."""
    # cuBLAS needs a fixed workspace to be deterministic; must be set before its first use.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    previous_threads = torch.get_num_threads()
    previous_mode = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous_mode)
        torch.set_num_threads(previous_threads)


def library_versions() -> dict[str, str]:
    """Versions that can change the bits of a result; recorded beside every adapter and report."""
    import peft
    import safetensors
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "safetensors": safetensors.__version__,
        # OS and CPU architecture only: a kernel or glibc release does not change the bits, and recording
        # it would give every machine its own adapter CID.
        "platform": f"{platform.system()}-{platform.machine()}",
    }
