"""Reverts explained to a wallet user: the decoded custom error (worker/chain/reverts.py, every artifact's
errors in one table) plus, for the errors a page's actions can meet, what it means and what to do."""

from __future__ import annotations

from worker.chain.client import ChainClient
from worker.chain.reverts import TransactionReverted

# error name -> what it means for the person at the wallet (the decoded error, with its arguments, follows).
HINTS: dict[str, str] = {
    "NotCurator": "your account is not a curator of this Datanet: only its curators review",
    "NotDatanetOwner": "only the Datanet's owner can do this",
    "NotContributor": "only the contributor of this contribution can do this",
    "DuplicateContribution": "you already submitted this exact file to this Datanet",
    "EmptyContribution": "the file has no records",
    "ContributionNotPending": "this contribution was already reviewed (or withdrawn)",
    "ContributionNotAccepted": "this contribution is not accepted",
    "ReviewPeriodNotOver": "the review period has not ended yet",
    "ReviewPeriodTooLong": "the review period is longer than the protocol allows",
    "SlashBpsTooHigh": "the slash share is above the protocol's maximum",
    "EmptyCid": "a content CID is missing",
    "EmptyVersion": "the version would list no contribution",
    "VersionExceedsAccepted": "the version lists more contributions than the Datanet accepted",
    "UnknownDatanet": "there is no such Datanet",
    "UnknownContribution": "there is no such contribution",
    "UnknownModel": "there is no such model",
    "ModelNotLive": "the model is not live yet: no finalized training result",
    "ProviderNotActive": "the model has no active compute provider right now",
    "PriceAboveMaximum": "the model's price went up since you looked: nothing was paid; look again and retry",
    "InvalidEpochStatus": "the epoch is not in a state that allows this (not finalized yet, or swept)",
    "ClaimPeriodOver": "the claim period of this epoch is over",
    "AlreadyClaimed": "this amount was already claimed",
    "InvalidProof": "the proof does not match the epoch's root (an outdated report)",
    "NothingToWithdraw": "nothing is credited to your account",
    "ZeroAddress": "an address is missing (the zero address)",
    "ZeroAmount": "the amount is zero",
    "ERC20InsufficientBalance": "your account does not hold enough OPEN",
    "ERC20InsufficientAllowance": "the contract is not allowed to take that much of your OPEN: approve first",
}


def explain(error_name: str | None, decoded: str) -> str:
    hint = HINTS.get(error_name or "")
    return f"{hint} ({decoded})" if hint else f"the contract refused: {decoded}"


def explain_revert(exc: TransactionReverted) -> str:
    decoded = str(exc.revert) if exc.revert else str(exc)
    return f"{exc.contract}.{exc.function} would revert: {explain(exc.error_name, decoded)}; nothing was sent"


def explain_revert_data(client: ChainClient, data: str, contract: str | None = None) -> str:
    """Revert data a wallet reported (0x + selector + arguments), made readable."""
    decoded = client.sender.errors.decode(data, contract)
    if decoded is None:
        return f"the transaction reverted without a known error (data {data[:74] or '0x'})"
    return explain(decoded.error_name, str(decoded))
