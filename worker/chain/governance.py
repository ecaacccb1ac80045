"""Governance from Python: propose -> vote -> queue -> execute through OpenGovernor and OpenTimelock.

On a local Anvil the waiting (voting delay and period in blocks, timelock delay in seconds) is skipped
with `anvil_mine` / `evm_increaseTime`; on a real chain `pass_proposal` is not usable and the steps
(`propose`, `cast_vote`, `queue`, `execute`) are called as time passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from eth_utils.crypto import keccak

from worker.chain.bindings import ContractBinding, TxResult
from worker.chain.connection import DevChain
from worker.errors import ChainError

if TYPE_CHECKING:
    from worker.chain.client import ChainClient

PROPOSER_ROLE = keccak(text="PROPOSER_ROLE")
CANCELLER_ROLE = keccak(text="CANCELLER_ROLE")
EXECUTOR_ROLE = keccak(text="EXECUTOR_ROLE")


class ProposalState(IntEnum):
    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7


class Vote(IntEnum):
    AGAINST = 0
    FOR = 1
    ABSTAIN = 2


@dataclass(frozen=True)
class Action:
    """One call the timelock will make."""

    target: str
    calldata: bytes
    value: int = 0


@dataclass(frozen=True)
class Proposal:
    actions: tuple[Action, ...]
    description: str

    def arguments(self) -> tuple[list[str], list[int], list[bytes]]:
        return (
            [a.target for a in self.actions],
            [a.value for a in self.actions],
            [a.calldata for a in self.actions],
        )

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)


class OpenGovernor(ContractBinding):
    NAME = "OpenGovernor"
    CREATED_ID = {"propose": ("ProposalCreated", "proposalId")}

    def propose(self, proposal: Proposal) -> TxResult:
        """Create the proposal; `created_id` is the proposal id."""
        return self.transact("propose", *proposal.arguments(), proposal.description)

    def cast_vote(self, proposal_id: int, support: Vote = Vote.FOR) -> TxResult:
        return self.transact("castVote", proposal_id, int(support))

    def queue(self, proposal: Proposal) -> TxResult:
        return self.transact("queue", *proposal.arguments(), proposal.description_hash)

    def execute(self, proposal: Proposal) -> TxResult:
        return self.transact("execute", *proposal.arguments(), proposal.description_hash)

    def state(self, proposal_id: int) -> ProposalState:
        return ProposalState(self.view("state", proposal_id))

    def proposal_id(self, proposal: Proposal) -> int:
        return int(self.view("hashProposal", *proposal.arguments(), proposal.description_hash))

    def proposal_votes(self, proposal_id: int) -> tuple[int, int, int]:
        against, for_, abstain = self.view("proposalVotes", proposal_id)
        return int(against), int(for_), int(abstain)

    def voting_delay(self) -> int:
        return int(self.view("votingDelay"))

    def voting_period(self) -> int:
        return int(self.view("votingPeriod"))

    def proposal_eta(self, proposal_id: int) -> int:
        return int(self.view("proposalEta", proposal_id))

    def quorum(self, block: int) -> int:
        return int(self.view("quorum", block))


@dataclass(frozen=True)
class ProposalOutcome:
    proposal_id: int
    proposed: TxResult
    queued: TxResult
    executed: TxResult


def _expect(governor: OpenGovernor, proposal_id: int, wanted: ProposalState) -> None:
    state = governor.state(proposal_id)
    if state != wanted:
        against, for_, abstain = governor.proposal_votes(proposal_id)
        raise ChainError(
            f"proposal {proposal_id} is {state.name}, expected {wanted.name} "
            f"(for {for_}, against {against}, abstain {abstain}): did the voters delegate "
            "their votes before the proposal, and do they reach quorum?"
        )


def pass_proposal(
    proposer: ChainClient, proposal: Proposal, voters: Sequence[ChainClient]
) -> ProposalOutcome:
    """Propose, vote For with every voter, and queue and execute it, moving a local Anvil's clock.

    Voters need delegated votes from before the proposal (deployment self-delegates the deployer)."""
    governor, dev = proposer.governor, DevChain(proposer.w3)
    proposed = governor.propose(proposal)
    proposal_id = int(proposed.created_id or governor.proposal_id(proposal))
    dev.mine(governor.voting_delay() + 1)
    for voter in voters:
        voter.governor.cast_vote(proposal_id, Vote.FOR)
    dev.mine(governor.voting_period() + 1)
    _expect(governor, proposal_id, ProposalState.SUCCEEDED)
    queued = governor.queue(proposal)
    wait = governor.proposal_eta(proposal_id) - dev.timestamp()
    dev.increase_time(max(wait, 0) + 1)
    executed = governor.execute(proposal)
    _expect(governor, proposal_id, ProposalState.EXECUTED)
    return ProposalOutcome(proposal_id, proposed, queued, executed)


def resolve_challenge_proposal(client: ChainClient, job_id: int, upheld: bool, note: str = "") -> Proposal:
    verdict = "uphold" if upheld else "reject"
    call = Action(client.models.address, client.models.encode("resolveChallenge", job_id, upheld))
    return Proposal((call,), f"{verdict} the challenge of training job {job_id}{note}")


def resolve_epoch_challenge_proposal(
    client: ChainClient, model_id: int, epoch: int, upheld: bool, note: str = ""
) -> Proposal:
    verdict = "uphold" if upheld else "reject"
    call = Action(client.vault.address, client.vault.encode("resolveEpochChallenge", model_id, epoch, upheld))
    return Proposal((call,), f"{verdict} the challenge of model {model_id} epoch {epoch}{note}")


def parameter_proposal(binding: ContractBinding, setter: str, *args: object, note: str = "") -> Proposal:
    """A proposal calling one governance setter, e.g. (client.vault, "setChallengeWindow", 7200)."""
    call = Action(binding.address, binding.encode(setter, *args))
    shown = ", ".join(str(a) for a in args)
    return Proposal((call,), f"{binding.NAME}.{setter}({shown}){note}")
