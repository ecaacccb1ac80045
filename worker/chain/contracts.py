"""The typed contract wrappers in one place (each lives in its own module; this is the index).

`ChainClient` (worker.chain.client) builds them for a deployment and an account:
`client.datanets`, `client.workers`, `client.models`, `client.vault`, `client.token`, `client.governor`.
"""

from worker.chain.bindings import ContractBinding, TxResult
from worker.chain.datanet_registry import DatanetRegistry
from worker.chain.events import DecodedEvent
from worker.chain.governance import OpenGovernor
from worker.chain.model_registry import ModelRegistry
from worker.chain.open_token import OPEN, OpenToken, Permit
from worker.chain.reward_vault import RewardVault
from worker.chain.worker_registry import WorkerRegistry

__all__ = [
    "OPEN",
    "ContractBinding",
    "DatanetRegistry",
    "DecodedEvent",
    "ModelRegistry",
    "OpenGovernor",
    "OpenToken",
    "Permit",
    "RewardVault",
    "TxResult",
    "WorkerRegistry",
]
