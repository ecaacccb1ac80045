"""Compiled contracts, read from forge's `out/` directory (the one source of truth for ABIs and bytecode).

Python never compiles Solidity: `make build` (forge) writes `out/<File>.sol/<Contract>.json` and every
binding, deployment and revert decoder reads from there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from worker.config import project_root
from worker.errors import ChainError

# The deployed protocol, in deployment order (docs/PROTOCOL.md).
PROTOCOL_CONTRACTS = (
    "OpenToken",
    "OpenTimelock",
    "OpenGovernor",
    "DatanetRegistry",
    "WorkerRegistry",
    "ModelRegistry",
    "RewardVault",
)
# The Solidity built-ins every revert may carry besides custom errors.
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
PANIC_SELECTOR = bytes.fromhex("4e487b71")
PANIC_CODES = {
    0x00: "generic compiler panic",
    0x01: "assert failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to a zero-initialized function pointer",
}


@dataclass(frozen=True)
class Artifact:
    """ABI and creation bytecode of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    path: Path

    @property
    def bytecode_hash(self) -> str:
        """keccak256 of the creation bytecode: recorded with deployments to spot rebuilt contracts."""
        return "0x" + keccak(self.bytecode).hex()


def default_out_dir() -> Path:
    return project_root() / "out"


def _missing(what: str, out_dir: Path) -> ChainError:
    return ChainError(f"{what} not found under {out_dir}: compile the contracts first with `make build`")


def load_artifact(name: str, out_dir: Path | None = None) -> Artifact:
    """The artifact of contract `name` (e.g. "DatanetRegistry"), from `out/<name>.sol/<name>.json`."""
    out = out_dir or default_out_dir()
    path = out / f"{name}.sol" / f"{name}.json"
    if not path.is_file():
        matches = sorted(out.glob(f"*/{name}.json")) if out.is_dir() else []
        if not matches:
            raise _missing(f"artifact of contract {name}", out)
        path = matches[0]
    data = json.loads(path.read_text())
    code = data.get("bytecode", {}).get("object", "0x")
    return Artifact(name=name, abi=data["abi"], bytecode=bytes.fromhex(code.removeprefix("0x")), path=path)


@dataclass(frozen=True)
class ErrorSpec:
    """A custom error: its name, inputs (name, ABI type) and the contracts that declare it."""

    name: str
    inputs: tuple[tuple[str, str], ...]
    declared_in: tuple[str, ...] = field(default=())

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(t for _, t in self.inputs)})"


@dataclass(frozen=True)
class DecodedRevert:
    """Revert data made readable: `DatanetRegistry: NotCurator(datanetId=1, account=0x...)`."""

    error_name: str
    args: dict[str, Any]
    contract: str | None
    data: bytes

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={_show(v)}" for k, v in self.args.items())
        prefix = f"{self.contract}: " if self.contract else ""
        return f"{prefix}{self.error_name}({inner})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def abi_type(item: dict[str, Any]) -> str:
    """Canonical ABI type of an input, expanding tuples (structs) into `(t1,t2)` form."""
    kind: str = item["type"]
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in item["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def selector_of(name: str, types: list[str] | tuple[str, ...]) -> bytes:
    return keccak(text=f"{name}({','.join(types)})")[:4]


class ErrorTable:
    """Every custom error of every ABI under `out/`, keyed by 4-byte selector."""

    def __init__(self, specs: dict[bytes, ErrorSpec]):
        self._specs = specs

    @classmethod
    def from_abis(cls, abis: dict[str, list[dict[str, Any]]]) -> ErrorTable:
        found: dict[bytes, ErrorSpec] = {}
        for contract, abi in sorted(abis.items()):
            for item in abi:
                if item.get("type") != "error":
                    continue
                inputs = tuple(
                    (i.get("name") or f"arg{n}", abi_type(i)) for n, i in enumerate(item["inputs"])
                )
                selector = selector_of(item["name"], [t for _, t in inputs])
                known = found.get(selector)
                declared = (known.declared_in if known else ()) + (contract,)
                found[selector] = ErrorSpec(item["name"], inputs, declared)
        return cls(found)

    def __len__(self) -> int:
        return len(self._specs)

    def spec(self, selector: bytes) -> ErrorSpec | None:
        return self._specs.get(selector)

    def decode(self, data: bytes | str | None, contract: str | None = None) -> DecodedRevert | None:
        """Decode revert data; `contract` (the one called) names the error if it declares it."""
        raw = _as_bytes(data)
        if raw is None or len(raw) < 4:
            return None
        selector, body = raw[:4], raw[4:]
        if selector == ERROR_STRING_SELECTOR:
            (reason,) = abi_decode(["string"], body)
            return DecodedRevert("Error", {"reason": reason}, contract, raw)
        if selector == PANIC_SELECTOR:
            (code,) = abi_decode(["uint256"], body)
            return DecodedRevert(
                "Panic", {"code": code, "meaning": PANIC_CODES.get(code, "?")}, contract, raw
            )
        spec = self._specs.get(selector)
        if spec is None:
            return DecodedRevert(f"UnknownError[0x{selector.hex()}]", {"data": body}, contract, raw)
        values = abi_decode([t for _, t in spec.inputs], body)
        args = {name: plain_value(v) for (name, _), v in zip(spec.inputs, values, strict=True)}
        owner = contract if contract in spec.declared_in else _preferred_owner(spec.declared_in)
        return DecodedRevert(spec.name, args, owner, raw)


def _preferred_owner(declared_in: tuple[str, ...]) -> str | None:
    """Name an error after a protocol contract that declares it (OpenToken for ERC20 errors), else after
    a concrete contract rather than an interface (IFoo) or library."""
    for name in PROTOCOL_CONTRACTS:
        if name in declared_in:
            return name
    concrete = [c for c in declared_in if not (c.startswith("I") and c[1:2].isupper())]
    if concrete:
        return concrete[0]
    return declared_in[0] if declared_in else None


def plain_value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    if isinstance(value, tuple):
        return [plain_value(v) for v in value]
    return value


def _as_bytes(data: bytes | str | None) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    text = data.strip()
    if not text.startswith("0x"):
        return None
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        return None


def all_abis(out_dir: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """ABI of every contract artifact under `out/` (skipping forge's build-info)."""
    out = out_dir or default_out_dir()
    if not out.is_dir():
        raise _missing("the forge `out/` directory", out)
    abis: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(out.glob("*.sol/*.json")):
        try:
            abi = json.loads(path.read_text()).get("abi", [])
        except (OSError, json.JSONDecodeError):
            continue  # a half-written file during a concurrent `forge build`
        abis.setdefault(path.stem, abi)
    return abis


@lru_cache(maxsize=4)
def error_table(out_dir: Path | None = None) -> ErrorTable:
    """The selector table of every custom error under `out/` (cached: the files are large)."""
    return ErrorTable.from_abis(all_abis(out_dir))
