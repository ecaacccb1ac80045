"""Artifacts from out/ and the revert decoder built from every ABI's custom errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak

from worker.chain.artifacts import ErrorTable, error_table, load_artifact, selector_of
from worker.chain.deployment import CONTRACTS
from worker.errors import ChainError


@pytest.fixture(scope="module")
def table(contracts_built: Path) -> ErrorTable:
    return error_table()


def test_every_protocol_contract_has_abi_and_bytecode(contracts_built: Path) -> None:
    for name in CONTRACTS:
        artifact = load_artifact(name)
        assert artifact.abi and len(artifact.bytecode) > 1000
        assert artifact.bytecode_hash == "0x" + keccak(artifact.bytecode).hex()


def test_missing_artifacts_point_to_make_build(tmp_path: Path) -> None:
    with pytest.raises(ChainError, match="make build"):
        load_artifact("DatanetRegistry", tmp_path)
    with pytest.raises(ChainError, match="make build"):
        error_table.__wrapped__(tmp_path / "nowhere")


def test_custom_error_with_arguments(table: ErrorTable) -> None:
    account = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    data = selector_of("NotCurator", ["uint256", "address"]) + encode(["uint256", "address"], [7, account])
    decoded = table.decode(data, "DatanetRegistry")
    assert decoded is not None
    assert (decoded.error_name, decoded.args) == ("NotCurator", {"datanetId": 7, "caller": account})
    assert str(decoded) == f"DatanetRegistry: NotCurator(datanetId=7, caller={account})"


def test_error_declared_elsewhere_is_named_after_its_contract(table: ErrorTable) -> None:
    data = selector_of("InvalidInitialSupply", ["uint256"]) + encode(["uint256"], [0])
    decoded = table.decode("0x" + data.hex(), "ModelRegistry")
    assert decoded is not None and decoded.contract == "OpenToken"


def test_solidity_builtins_and_unknown_selectors(table: ErrorTable) -> None:
    reason = table.decode(bytes.fromhex("08c379a0") + encode(["string"], ["nope"]))
    assert reason is not None and (reason.error_name, reason.args) == ("Error", {"reason": "nope"})
    panic = table.decode(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11]))
    assert panic is not None and panic.args["meaning"] == "arithmetic overflow or underflow"
    unknown = table.decode(bytes.fromhex("deadbeef"))
    assert unknown is not None and unknown.error_name == "UnknownError[0xdeadbeef]"
    assert table.decode(None) is None and table.decode("0x") is None


def test_table_covers_every_protocol_error(table: ErrorTable) -> None:
    for name in CONTRACTS:
        for item in load_artifact(name).abi:
            if item["type"] == "error":
                types = [i["type"] for i in item["inputs"]]
                spec = table.spec(selector_of(item["name"], types))
                assert spec is not None and spec.name == item["name"]
