"""Deploy the whole protocol to any RPC and record it in `deployments/<chainId>-<genesis>.json` (state dir).

Records are keyed by chain id and genesis block (its hash's first 12 hex digits): every fresh Anvil has
chain id 31337 but its own genesis, so `ape run deploy` on ape's node and `openledger deploy` on another
keep one record each instead of overwriting each other, and a restarted node finds no record (a new
deployment is needed) rather than a stale one.

Order and wiring follow docs/PROTOCOL.md: the deployer is the registries' first admin only long enough to
set the profile's parameters, fix the slashers (`WorkerRegistry.setSlashers`, callable once: nobody can
grant SLASHER_ROLE afterwards, the timelock included) and bind the RewardVault to the ModelRegistry; then
the timelock receives GOVERNANCE_ROLE and DEFAULT_ADMIN_ROLE everywhere, the governor becomes the
timelock's proposer and canceller, anyone may execute, and the deployer renounces its roles (unless
`keep_deployer_admin`, for tests).

Two profiles (`openledger deploy --profile`): `local` (the default, for Anvil and the demo: votes and
windows that complete in seconds, the deployer's tokens vote) and `production` (days-long timelock and
votes, a real proposal threshold and quorum, day-long challenge windows).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from worker.chain.accounts import Signer
from worker.chain.artifacts import PROTOCOL_CONTRACTS, load_artifact
from worker.chain.connection import chain_key, genesis_hash
from worker.chain.sender import Call, TransactionSender
from worker.config import load_settings
from worker.errors import ChainError
from worker.files import atomic_write

CONTRACTS = PROTOCOL_CONTRACTS
REGISTRIES = ("DatanetRegistry", "WorkerRegistry", "ModelRegistry", "RewardVault")
ZERO = "0x0000000000000000000000000000000000000000"
ADMIN_ROLE = b"\x00" * 32
GOVERNANCE_ROLE = keccak(text="GOVERNANCE_ROLE")
SLASHER_ROLE = keccak(text="SLASHER_ROLE")
PROPOSER_ROLE = keccak(text="PROPOSER_ROLE")
CANCELLER_ROLE = keccak(text="CANCELLER_ROLE")
REDEPLOY = "run `openledger deploy`"


@dataclass(frozen=True)
class DeploymentConfig:
    """The `local` profile's values by default: governance that completes in seconds on Anvil, short
    windows. `DeploymentConfig.production()` gives the values for a public chain."""

    profile: str = "local"
    token_supply: int = 1_000_000_000 * 10**18
    voting_delay_blocks: int = 1
    voting_period_blocks: int = 20
    proposal_threshold: int = 0
    quorum_percent: int = 4
    timelock_delay_s: int = 60
    lease_duration_s: int = 30 * 60
    job_challenge_window_s: int = 3600
    epoch_challenge_window_s: int = 3600
    # None keeps the contract's default (100 OPEN bonds and slashes, 100 OPEN minimum worker stake).
    job_challenge_bond: int | None = None
    job_slash_amount: int | None = None
    epoch_challenge_bond: int | None = None
    min_worker_stake: int | None = None
    # None keeps the contract's default (7-day rulings, 3-day lease cap, 14-day job deadline, 180-day claims).
    ruling_period_s: int | None = None
    max_lease_time_s: int | None = None
    job_deadline_s: int | None = None
    claim_period_s: int | None = None
    delegate_deployer: bool = True  # the deployer's tokens count as votes from the start
    keep_deployer_admin: bool = False  # tests only: lets the deployer resolve challenges directly

    @classmethod
    def for_profile(cls, profile: str) -> DeploymentConfig:
        """The named profile's values: `local` or `production`."""
        if profile == "local":
            return cls()
        if profile == "production":
            return cls.production()
        raise ChainError(f"unknown deployment profile {profile!r}: use 'local' or 'production'")

    @classmethod
    def production(cls) -> DeploymentConfig:
        """Values for a public chain (12 s blocks): nobody's vote alone passes a proposal, and every step
        leaves days for token holders, challengers and claimants to act."""
        day_blocks = 7_200
        return cls(
            profile="production",
            voting_delay_blocks=day_blocks,
            voting_period_blocks=7 * day_blocks,
            proposal_threshold=1_000_000 * 10**18,  # 0.1 % of the supply
            quorum_percent=4,
            timelock_delay_s=2 * 86_400,
            lease_duration_s=86_400,
            job_challenge_window_s=3 * 86_400,
            epoch_challenge_window_s=3 * 86_400,
            ruling_period_s=7 * 86_400,
            max_lease_time_s=3 * 86_400,
            job_deadline_s=14 * 86_400,
            claim_period_s=180 * 86_400,
            delegate_deployer=False,
        )


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    deployer: str
    addresses: dict[str, str]
    bytecode_hashes: dict[str, str]
    block_number: int  # the last deployment transaction's block
    block_hash: str
    genesis_hash: str  # block 0's hash: which chain of this id (each fresh Anvil has its own)
    config: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def address(self, name: str) -> ChecksumAddress:
        if name not in self.addresses:
            raise ChainError(f"deployment on chain {self.chain_id} has no {name}: {REDEPLOY}")
        return to_checksum_address(self.addresses[name])

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("path")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path | None = None) -> Deployment:
        names = {f.name for f in dataclasses.fields(cls)} - {"path"}
        missing = names - data.keys()
        if missing:
            raise ChainError(f"deployment file {path} lacks {sorted(missing)}: {REDEPLOY}")
        return cls(**{k: data[k] for k in names}, path=path)


Progress = Callable[[str], None]


class _Deployer:
    """Sends the deployment transactions for one account and remembers what it deployed."""

    def __init__(self, sender: TransactionSender, progress: Progress):
        self.sender = sender
        self.progress = progress
        self.addresses: dict[str, ChecksumAddress] = {}
        self.hashes: dict[str, str] = {}
        self.last_block = 0

    def deploy(self, name: str, *args: Any) -> ChecksumAddress:
        artifact = load_artifact(name)
        factory = self.sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        data = bytes.fromhex(factory.constructor(*args).data_in_transaction[2:])
        receipt = self.sender.send(Call(name, "constructor", None, data))
        created = receipt["contractAddress"]
        assert created is not None  # a mined contract creation always has it
        address = to_checksum_address(created)
        self.addresses[name], self.hashes[name] = address, artifact.bytecode_hash
        self.last_block = int(receipt["blockNumber"])
        self.progress(f"{name} at {address} (gas {receipt['gasUsed']})")
        return address

    def call(self, name: str, function: str, *args: Any) -> None:
        contract = self.sender.w3.eth.contract(address=self.addresses[name], abi=load_artifact(name).abi)
        data = bytes.fromhex(contract.encode_abi(function, args=list(args))[2:])
        receipt = self.sender.send(Call(name, function, self.addresses[name], data))
        self.last_block = int(receipt["blockNumber"])


def _deploy_contracts(d: _Deployer, config: DeploymentConfig, deployer: str) -> None:
    token = d.deploy("OpenToken", deployer, config.token_supply)
    timelock = d.deploy("OpenTimelock", config.timelock_delay_s, [], [ZERO], deployer)
    d.deploy(
        "OpenGovernor",
        token,
        timelock,
        config.voting_delay_blocks,
        config.voting_period_blocks,
        config.proposal_threshold,
        config.quorum_percent,
    )
    datanets = d.deploy("DatanetRegistry", token, deployer)
    workers = d.deploy("WorkerRegistry", token, deployer)
    models = d.deploy("ModelRegistry", token, datanets, workers, timelock, deployer)
    d.deploy("RewardVault", token, models, workers, timelock, deployer)


def _set_parameters(d: _Deployer, config: DeploymentConfig) -> None:
    d.call("ModelRegistry", "setLeaseDuration", config.lease_duration_s)
    d.call("ModelRegistry", "setChallengeWindow", config.job_challenge_window_s)
    d.call("RewardVault", "setChallengeWindow", config.epoch_challenge_window_s)
    optional = [
        ("ModelRegistry", "setChallengeBond", config.job_challenge_bond),
        ("ModelRegistry", "setSlashAmount", config.job_slash_amount),
        ("RewardVault", "setChallengeBond", config.epoch_challenge_bond),
        ("WorkerRegistry", "setMinWorkerStake", config.min_worker_stake),
        ("ModelRegistry", "setRulingPeriod", config.ruling_period_s),
        ("RewardVault", "setRulingPeriod", config.ruling_period_s),
        ("ModelRegistry", "setMaxLeaseTime", config.max_lease_time_s),
        ("ModelRegistry", "setJobDeadline", config.job_deadline_s),
        ("RewardVault", "setClaimPeriod", config.claim_period_s),
    ]
    for name, setter, value in optional:
        if value is not None:
            d.call(name, setter, value)


def _wire_roles(d: _Deployer, config: DeploymentConfig, deployer: str) -> None:
    timelock, governor = d.addresses["OpenTimelock"], d.addresses["OpenGovernor"]
    d.call("WorkerRegistry", "setSlashers", [d.addresses["ModelRegistry"], d.addresses["RewardVault"]])
    d.call("ModelRegistry", "bindRewardVault", d.addresses["RewardVault"])
    for name in REGISTRIES:
        d.call(name, "grantRole", GOVERNANCE_ROLE, timelock)
        d.call(name, "grantRole", ADMIN_ROLE, timelock)
    d.call("OpenTimelock", "grantRole", PROPOSER_ROLE, governor)
    d.call("OpenTimelock", "grantRole", CANCELLER_ROLE, governor)
    if config.delegate_deployer:
        d.call("OpenToken", "delegate", deployer)
    if config.keep_deployer_admin:
        return
    for name in REGISTRIES:
        d.call(name, "renounceRole", GOVERNANCE_ROLE, deployer)
        d.call(name, "renounceRole", ADMIN_ROLE, deployer)
    d.call("OpenTimelock", "renounceRole", ADMIN_ROLE, deployer)


def deploy_system(
    w3: Web3,
    signer: Signer,
    config: DeploymentConfig | None = None,
    *,
    deployments_dir: Path | None = None,
    save: bool = True,
    progress: Progress | None = None,
) -> Deployment:
    """Deploy and wire every contract from `signer`; record the result unless `save` is False."""
    config = config or DeploymentConfig()
    d = _Deployer(TransactionSender(w3, signer), progress or (lambda _: None))
    _deploy_contracts(d, config, signer.address)
    _set_parameters(d, config)
    _wire_roles(d, config, signer.address)
    block = w3.eth.get_block(d.last_block)
    deployment = Deployment(
        chain_id=d.sender.chain_id,
        deployer=signer.address,
        addresses=dict(d.addresses),
        bytecode_hashes=d.hashes,
        block_number=d.last_block,
        block_hash="0x" + bytes(block["hash"]).hex(),
        genesis_hash=genesis_hash(w3),
        config=dataclasses.asdict(config),
    )
    return save_deployment(deployment, deployments_dir) if save else deployment


def deployment_path(chain_id: int, genesis: str, deployments_dir: Path | None = None) -> Path:
    """Where the deployment on the chain with this id and genesis block hash is recorded."""
    return (deployments_dir or load_settings().deployments_dir) / f"{chain_key(chain_id, genesis)}.json"


def save_deployment(deployment: Deployment, deployments_dir: Path | None = None) -> Deployment:
    path = deployment_path(deployment.chain_id, deployment.genesis_hash, deployments_dir)
    atomic_write(path, json.dumps(deployment.to_dict(), indent=2) + "\n")
    return dataclasses.replace(deployment, path=path)


class NoDeploymentRecord(ChainError):
    """Nothing is recorded for this chain (id and genesis)."""


def read_deployment(chain_id: int, genesis: str, deployments_dir: Path | None = None) -> Deployment:
    """The recorded deployment on that chain; ChainError saying what to do when there is none."""
    path = deployment_path(chain_id, genesis, deployments_dir)
    if not path.is_file():
        others = sorted(p.name for p in path.parent.glob(f"{chain_id}-*.json"))
        hint = (
            f" (records of chain {chain_id} with other genesis blocks: {', '.join(others)}; this node "
            "was restarted or is another node: its contracts need a deployment of their own)"
            if others
            else ""
        )
        raise NoDeploymentRecord(
            f"no deployment recorded for chain {chain_id} with genesis {genesis[:14]}… ({path}){hint}: "
            f"{REDEPLOY}"
        )
    try:
        deployment = Deployment.from_dict(json.loads(path.read_text()), path)
    except json.JSONDecodeError as exc:
        raise ChainError(f"deployment file {path} is not valid JSON: {REDEPLOY}") from exc
    if deployment.chain_id != chain_id or deployment.genesis_hash != genesis:
        raise ChainError(
            f"deployment file {path} describes chain {deployment.chain_id} with genesis "
            f"{deployment.genesis_hash[:14]}…, not this one: {REDEPLOY}"
        )
    return deployment


def verify_deployment(w3: Web3, deployment: Deployment) -> None:
    """Raise "deployment stale" if the chain no longer holds what the file describes (e.g. a restarted
    Anvil: the addresses have no code, or the recorded block is not this chain's block)."""
    where = f" ({deployment.path})" if deployment.path else ""
    for name, address in deployment.addresses.items():
        if not w3.eth.get_code(to_checksum_address(address)):
            raise ChainError(
                f"deployment stale: no code for {name} at {address} on chain "
                f"{deployment.chain_id}{where}; the chain was reset? {REDEPLOY}"
            )
    head = int(w3.eth.block_number)
    if deployment.block_number > head:
        raise ChainError(
            f"deployment stale: recorded at block {deployment.block_number} but the chain is at "
            f"block {head}{where}; {REDEPLOY}"
        )
    actual = "0x" + bytes(w3.eth.get_block(deployment.block_number)["hash"]).hex()
    if actual != deployment.block_hash:
        raise ChainError(
            f"deployment stale: block {deployment.block_number} is not the block the deployment "
            f"was recorded in{where}; the chain was reset or reorganised. {REDEPLOY}"
        )


def load_deployment(w3: Web3, deployments_dir: Path | None = None) -> Deployment:
    """The recorded deployment of the connected chain, verified to still be there."""
    chain_id, genesis = int(w3.eth.chain_id), genesis_hash(w3)
    try:
        deployment = read_deployment(chain_id, genesis, deployments_dir)
    except NoDeploymentRecord:
        migrated = _migrate_legacy_record(w3, chain_id, genesis, deployments_dir)
        if migrated is None:
            raise
        return migrated
    verify_deployment(w3, deployment)
    return deployment


def _migrate_legacy_record(
    w3: Web3, chain_id: int, genesis: str, deployments_dir: Path | None
) -> Deployment | None:
    """A record of the releases that keyed files by chain id alone (`<chainId>.json`), taken over under
    the new key if it describes this very chain (its contracts and deployment block are here): a
    deployment on a long-lived chain is not lost to the change of file names."""
    legacy = (deployments_dir or load_settings().deployments_dir) / f"{chain_id}.json"
    if not legacy.is_file():
        return None
    try:
        data = json.loads(legacy.read_text())
        deployment = Deployment.from_dict({**data, "genesis_hash": genesis}, legacy)
        if deployment.chain_id != chain_id:
            return None
        verify_deployment(w3, deployment)
    except (ChainError, json.JSONDecodeError, TypeError):
        return None  # another chain's (or a reset node's) record: the caller says to deploy
    return save_deployment(deployment, deployments_dir)


def artifact_drift(deployment: Deployment) -> list[str]:
    """Contracts whose compiled bytecode in out/ differs from what was deployed (rebuilt since)."""
    return [
        name
        for name, digest in deployment.bytecode_hashes.items()
        if load_artifact(name).bytecode_hash != digest
    ]
