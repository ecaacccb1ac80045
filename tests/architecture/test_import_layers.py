"""The worker's floors, enforced: imports point down (cli/demo on top, then the explorer, the shared basics
at the bottom), no module imports itself back through a cycle, and the attribution engine stays free of
chain, storage and Merkle code. Typing-only imports (exactly `if TYPE_CHECKING:`) are not edges: they
never run.
Dynamic imports (importlib) are not seen; the only one, worker/cli/__init__.py, loads cli's own modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).resolve().parents[2] / "worker"

# Lower number = lower floor. A package may import its own modules and any package on a lower floor; the
# shared basics (floor 0) may also use each other (the cycle test keeps that one-way).
FLOORS: dict[str, int] = {
    "worker": 0,
    "worker.errors": 0,
    "worker.config": 0,
    "worker.canonical": 0,
    "worker.units": 0,
    "worker.files": 0,
    "worker.sqlite": 0,
    "worker.database": 0,
    "worker.faults": 0,
    "worker.merkle": 1,
    "worker.storage": 1,
    "worker.chain": 1,
    "worker.data": 2,
    "worker.train": 3,
    "worker.datanet": 3,
    "worker.billing": 3,
    "worker.attribution": 4,
    "worker.rewards": 4,
    "worker.jobs": 5,
    "worker.serve": 6,
    "worker.daemon": 6,
    "worker.explorer": 7,  # on the daemon's follower and serve's HTTP error mapping
    "worker.cli": 8,
    "worker.demo": 8,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(WORKER.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(WORKER.rglob("*.py"))}


def _runtime_nodes(tree: ast.AST) -> list[ast.stmt]:
    """Every import statement that runs (including lazy ones in functions), not those under TYPE_CHECKING."""
    found: list[ast.stmt] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    targets: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names if a.name in MODULES)
            continue
        assert isinstance(node, ast.ImportFrom)
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(anchor + ([node.module] if node.module else []))
        for alias in node.names:  # `from pkg import submodule` is an edge to the submodule only
            sub = f"{base}.{alias.name}"
            targets.add(sub if sub in MODULES else base)
    return {t for t in targets if t in MODULES and t != module}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _floor_package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_every_package_has_a_floor() -> None:
    assert sorted({_floor_package(m) for m in MODULES} - set(FLOORS)) == []


def test_imports_point_down() -> None:
    upward = []
    for module, targets in GRAPH.items():
        here = _floor_package(module)
        for target in sorted(targets):
            there = _floor_package(target)
            same_floor = FLOORS[there] == FLOORS[here] and FLOORS[here] > 0
            if there != here and (FLOORS[there] > FLOORS[here] or same_floor):
                upward.append(f"{module} -> {target} (floor {FLOORS[here]} -> {FLOORS[there]})")
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("worker.attribution", ("worker.chain", "worker.storage", "worker.merkle", "worker.datanet")),
        ("worker.data", ("worker.chain", "worker.datanet", "worker.train")),
        ("worker.billing", ("worker.rewards", "worker.serve")),
        ("worker.daemon", ("worker.explorer",)),
        ("worker.serve", ("worker.explorer",)),
    ],
)
def test_importing_a_package_loads_nothing_it_must_not(package: str, forbidden: tuple[str, ...]) -> None:
    code = (
        f"import sys, {package}\n"
        f"print('\\n'.join(sorted(m for m in sys.modules if m.startswith({forbidden!r}))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []
