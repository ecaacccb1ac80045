"""WorkerRegistry: compute providers' stakes, exit cooldown, slashing."""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from worker.chain.bindings import ContractBinding, TxResult
from worker.chain.types import Worker, from_abi

SLASHER_ROLE = keccak(text="SLASHER_ROLE")


class WorkerRegistry(ContractBinding):
    NAME = "WorkerRegistry"

    def register_worker(self, stake: int, endpoint: str) -> TxResult:
        """Approve `stake` if needed, then register this account as a worker."""
        self.client.token.ensure_allowance(self.address, stake)
        return self.transact("registerWorker", stake, endpoint)

    def set_endpoint(self, endpoint: str) -> TxResult:
        return self.transact("setEndpoint", endpoint)

    def add_stake(self, amount: int) -> TxResult:
        self.client.token.ensure_allowance(self.address, amount)
        return self.transact("addStake", amount)

    def request_exit(self) -> TxResult:
        return self.transact("requestExit")

    def withdraw_stake(self) -> TxResult:
        return self.transact("withdrawStake")

    def set_min_worker_stake(self, amount: int) -> TxResult:
        return self.transact("setMinWorkerStake", amount)

    def set_exit_cooldown(self, seconds: int) -> TxResult:
        return self.transact("setExitCooldown", seconds)

    def get_worker(self, worker: str) -> Worker:
        return from_abi(Worker, self.view("getWorker", to_checksum_address(worker)))

    def is_active_worker(self, worker: str) -> bool:
        return bool(self.view("isActiveWorker", to_checksum_address(worker)))

    def stake_of(self, worker: str) -> int:
        return int(self.view("stakeOf", to_checksum_address(worker)))

    def locked_stake(self, worker: str) -> int:
        """Stake locked as collateral by the worker's open claims and unfinalized epoch roots."""
        return int(self.view("lockedStake", to_checksum_address(worker)))

    def free_stake(self, worker: str) -> int:
        """Stake not locked: the most new work (a claim, an epoch root) can still lock."""
        return int(self.view("freeStake", to_checksum_address(worker)))

    def min_worker_stake(self) -> int:
        return int(self.view("minWorkerStake"))

    def exit_cooldown(self) -> int:
        return int(self.view("exitCooldown"))
