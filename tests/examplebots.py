"""The example bots under examples/bots/, imported as modules so tests can drive their `run`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BOTS = Path(__file__).resolve().parents[1] / "examples" / "bots"


def load_bot(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples_bots_{name}", BOTS / f"{name}.py")
    assert spec is not None and spec.loader is not None, f"no example bot {name}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
