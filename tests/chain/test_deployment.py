"""Deployment wiring (PROTOCOL.md roles), the deployment record, stale-deployment detection, governance."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from eth_utils import keccak

from worker.chain.anvil import Anvil
from worker.chain.artifacts import load_artifact
from worker.chain.connection import connect, genesis_hash
from worker.chain.deployment import (
    ADMIN_ROLE,
    CANCELLER_ROLE,
    CONTRACTS,
    GOVERNANCE_ROLE,
    PROPOSER_ROLE,
    REGISTRIES,
    SLASHER_ROLE,
    deployment_path,
    load_deployment,
    read_deployment,
    save_deployment,
)
from worker.chain.devnet import LocalChain
from worker.chain.governance import EXECUTOR_ROLE, parameter_proposal, pass_proposal
from worker.errors import ChainError

ZERO = "0x" + "0" * 40


def _has_role(devnet: LocalChain, contract: str, role: bytes, account: str) -> bool:
    client = devnet.client(0)
    abi = load_artifact(contract).abi
    bound = devnet.w3.eth.contract(address=devnet.deployment.address(contract), abi=abi)
    return bool(bound.functions.hasRole(role, account).call({"from": client.address}))


def test_roles_follow_the_protocol(devnet: LocalChain) -> None:
    d, deployer = devnet.deployment, devnet.deployment.deployer
    timelock, governor = d.address("OpenTimelock"), d.address("OpenGovernor")
    for name in REGISTRIES:
        assert _has_role(devnet, name, GOVERNANCE_ROLE, timelock)
        assert _has_role(devnet, name, ADMIN_ROLE, timelock)
        assert not _has_role(devnet, name, GOVERNANCE_ROLE, deployer)
        assert not _has_role(devnet, name, ADMIN_ROLE, deployer)
    assert _has_role(devnet, "WorkerRegistry", SLASHER_ROLE, d.address("ModelRegistry"))
    assert _has_role(devnet, "WorkerRegistry", SLASHER_ROLE, d.address("RewardVault"))
    assert _has_role(devnet, "OpenTimelock", PROPOSER_ROLE, governor)
    assert _has_role(devnet, "OpenTimelock", CANCELLER_ROLE, governor)
    assert _has_role(devnet, "OpenTimelock", EXECUTOR_ROLE, ZERO)  # anyone may execute
    assert not _has_role(devnet, "OpenTimelock", ADMIN_ROLE, deployer)
    client = devnet.client(0)
    assert client.models.params().treasury == timelock
    assert (client.models.params().lease_duration, client.models.params().challenge_window) == (1800, 3600)
    assert client.vault.challenge_window() == 3600
    assert client.token.get_votes(deployer) == client.token.total_supply() == 10**27


def test_admin_kept_deployment_lets_the_deployer_govern(admin_devnet: LocalChain) -> None:
    deployer = admin_devnet.deployment.deployer
    assert _has_role(admin_devnet, "ModelRegistry", GOVERNANCE_ROLE, deployer)
    admin_devnet.client(0).vault.set_challenge_window(7200)
    assert admin_devnet.client(0).vault.challenge_window() == 7200


def test_deployment_record_matches_the_chain_and_artifacts(devnet: LocalChain, deployments_dir: Path) -> None:
    recorded = read_deployment(31337, genesis_hash(devnet.w3), deployments_dir)
    assert recorded.path == deployments_dir / f"31337-{genesis_hash(devnet.w3)[2:14]}.json"
    assert recorded.addresses == devnet.deployment.addresses and set(recorded.addresses) == set(CONTRACTS)
    assert recorded.bytecode_hashes == {name: load_artifact(name).bytecode_hash for name in CONTRACTS}
    assert load_deployment(devnet.w3, deployments_dir).block_hash == recorded.block_hash


def test_a_restarted_node_has_no_record_of_its_own(devnet: LocalChain, deployments_dir: Path) -> None:
    with Anvil() as fresh:  # a restarted node: same chain id, another genesis, none of the contracts
        with pytest.raises(
            ChainError,
            match=r"no deployment recorded for chain 31337 with genesis .*"
            r"other genesis blocks: 31337-.*\.json.*openledger deploy",
        ):
            load_deployment(connect(fresh.rpc_url), deployments_dir)


def test_two_chains_with_one_id_keep_a_record_each(devnet: LocalChain, tmp_path: Path) -> None:
    other = LocalChain.start(deployments_dir=tmp_path)  # what `ape run deploy` on ape's node does
    try:
        save_deployment(devnet.deployment, tmp_path)  # and `openledger deploy` on ours, in either order
        assert len(list(tmp_path.glob("31337-*.json"))) == 2
        assert load_deployment(other.w3, tmp_path).addresses == other.deployment.addresses
        assert load_deployment(devnet.w3, tmp_path).addresses == devnet.deployment.addresses
    finally:
        other.stop()


def test_stale_deployment_when_the_contracts_are_gone(devnet: LocalChain, tmp_path: Path) -> None:
    with Anvil() as fresh:  # a record that claims this chain, yet none of its contracts are there
        record = dataclasses.replace(devnet.deployment, genesis_hash=genesis_hash(connect(fresh.rpc_url)))
        save_deployment(record, tmp_path)
        with pytest.raises(ChainError, match=r"deployment stale: no code for OpenToken.*openledger deploy"):
            load_deployment(connect(fresh.rpc_url), tmp_path)


def test_stale_deployment_when_the_recorded_block_differs(
    devnet: LocalChain, deployments_dir: Path, tmp_path: Path
) -> None:
    data = read_deployment(31337, genesis_hash(devnet.w3), deployments_dir).to_dict()
    data["block_hash"] = "0x" + keccak(text="another chain").hex()
    deployment_path(31337, genesis_hash(devnet.w3), tmp_path).write_text(json.dumps(data))
    with pytest.raises(ChainError, match="deployment stale: block .* reset or reorganised"):
        load_deployment(devnet.w3, tmp_path)


def test_missing_deployment_says_what_to_do(devnet: LocalChain, tmp_path: Path) -> None:
    with pytest.raises(ChainError, match=r"no deployment recorded for chain 31337.*openledger deploy"):
        load_deployment(devnet.w3, tmp_path)


def test_governance_changes_a_parameter(devnet: LocalChain) -> None:
    gov = devnet.client(0)
    proposal = parameter_proposal(gov.vault, "setChallengeWindow", 7200)
    outcome = pass_proposal(gov, proposal, [gov])
    assert outcome.executed.event("ChallengeWindowSet")["challengeWindow"] == 7200
    assert gov.vault.challenge_window() == 7200


def test_a_record_of_the_old_layout_is_taken_over_for_its_own_chain_only(
    devnet: LocalChain, tmp_path: Path
) -> None:
    old = devnet.deployment.to_dict()
    del old["genesis_hash"]  # `<chainId>.json` as earlier releases wrote it
    (tmp_path / "31337.json").write_text(json.dumps(old))
    with Anvil() as fresh:  # another node of chain 31337: the old record is not its deployment
        with pytest.raises(ChainError, match="no deployment recorded for chain 31337"):
            load_deployment(connect(fresh.rpc_url), tmp_path)
    taken_over = load_deployment(devnet.w3, tmp_path)
    assert taken_over.addresses == devnet.deployment.addresses
    assert taken_over.path == deployment_path(31337, genesis_hash(devnet.w3), tmp_path)
    assert read_deployment(31337, genesis_hash(devnet.w3), tmp_path).genesis_hash == genesis_hash(devnet.w3)
