"""RewardVault: inference payments and their split, epoch roots, Merkle claims, credited balances."""

from __future__ import annotations

import os
from collections.abc import Sequence

from eth_utils.address import to_checksum_address
from web3.types import BlockIdentifier

from worker.chain.bindings import ContractBinding, TxResult
from worker.chain.events import DecodedEvent
from worker.chain.types import (
    Epoch,
    EpochStatus,
    FeeSplit,
    Payment,
    Pool,
    collateral_for,
    from_abi,
    utc,
)
from worker.errors import ChainError


class RewardVault(ContractBinding):
    NAME = "RewardVault"
    CREATED_ID = {"payForInference": ("InferencePaid", "paymentId")}

    # ------------------------------------------------------------------ payments

    def pay_for_inference(
        self,
        model_id: int,
        request_count: int,
        request_ref: bytes | None = None,
        *,
        max_price: int | None = None,
    ) -> TxResult:
        """Approve max_price * requestCount if needed and pay; `created_id` is the payment id.

        `max_price` is the most the payer accepts per request; by default the price read just before
        paying, so a price raised in front of this transaction makes it revert instead of charging
        more. `request_ref` is the payer's own 32-byte reference (random if not given)."""
        if max_price is None:
            max_price = self.client.models.get_model(model_id).price_per_inference
        self.client.token.ensure_allowance(self.address, max_price * request_count)
        ref = request_ref if request_ref is not None else os.urandom(32)
        return self.transact("payForInference", model_id, request_count, max_price, ref)

    def get_payment(self, payment_id: int, to_block: BlockIdentifier = "latest") -> Payment | None:
        """The `InferencePaid` event of `payment_id` (mined at or before `to_block`), or None.

        The vault keeps no payment struct in storage (the event is the record), so this is one
        eth_getLogs filtered on the indexed payment id, from the deployment block on (in pieces of
        `client.max_log_range` blocks): a scan, fine for a verifier, not for a server
        (worker.billing.payment_index keeps them indexed)."""
        events = self.get_events("InferencePaid", self.client.deployment.block_number, to_block, payment_id)
        return payment_of(events[0]) if events else None

    def withdraw(self) -> TxResult:
        return self.transact("withdraw")

    def withdraw_for(self, account: str) -> TxResult:
        return self.transact("withdrawFor", to_checksum_address(account))

    # ------------------------------------------------------------------ epochs

    def post_epoch_root(
        self, model_id: int, epoch: int, root: bytes, total: int, report_cid: str
    ) -> TxResult:
        """Post a root as the model's compute provider; locks collateral_for(total) of its free stake."""
        return self.transact("postEpochRoot", model_id, epoch, root, total, report_cid)

    def challenge_epoch(self, model_id: int, epoch: int, reason_cid: str) -> TxResult:
        """Approve the current epoch challenge bond if needed and dispute the root (call
        `check_epoch_challengeable` first to be told before gas what the contract would refuse)."""
        self.client.token.ensure_allowance(self.address, self.challenge_bond())
        return self.transact("challengeEpoch", model_id, epoch, reason_cid)

    def check_epoch_challengeable(self, model_id: int, epoch: int) -> int:
        """The bond a challenge of the epoch's root escrows now; ChainError (saying why) if the contract
        would revert."""
        self.client.models.require_model(model_id)
        posted = self.get_epoch(model_id, epoch)
        status = EpochStatus(posted.status)
        if status is EpochStatus.NONE:
            raise ChainError(
                f"model {model_id} has no root posted for epoch {epoch} (next epoch to post: "
                f"{self.next_epoch(model_id)}); nothing was sent"
            )
        if status is EpochStatus.CHALLENGED:
            raise ChainError(
                f"epoch {epoch} of model {model_id} is already challenged by {posted.dispute.challenger}; "
                "nothing was sent"
            )
        if status is not EpochStatus.POSTED:
            raise ChainError(
                f"epoch {epoch} of model {model_id} is {status.name.lower()}: only a posted root inside "
                "its challenge window can be challenged; nothing was sent"
            )
        if self.client.latest_timestamp() > posted.deadline:
            raise ChainError(
                f"the challenge window of epoch {epoch} of model {model_id} closed at "
                f"{utc(posted.deadline)}: the root can only be finalized now; nothing was sent"
            )
        bond = self.challenge_bond()
        self.client.token.require_balance(bond, "the epoch challenge bond")
        return bond

    def resolve_epoch_challenge(self, model_id: int, epoch: int, upheld: bool) -> TxResult:
        return self.transact("resolveEpochChallenge", model_id, epoch, upheld)

    def lapse_epoch_challenge(self, model_id: int, epoch: int) -> TxResult:
        """Void a challenged root nobody ruled on by its ruling deadline (anyone may send it)."""
        return self.transact("lapseEpochChallenge", model_id, epoch)

    def finalize_epoch(self, model_id: int, epoch: int) -> TxResult:
        return self.transact("finalizeEpoch", model_id, epoch)

    def claim(
        self, model_id: int, epoch: int, index: int, account: str, amount: int, proof: Sequence[bytes]
    ) -> TxResult:
        """Pay leaf (index, account, amount) of a finalized epoch to `account` (anyone may send it)."""
        return self.transact(
            "claim", model_id, epoch, index, to_checksum_address(account), amount, list(proof)
        )

    def sweep_epoch(self, model_id: int, epoch: int) -> TxResult:
        """Return an expired epoch's unclaimed amount to the pool (anyone, after the claim deadline)."""
        return self.transact("sweepEpoch", model_id, epoch)

    # ------------------------------------------------------------------ governance setters

    def set_fee_split(self, split: FeeSplit) -> TxResult:
        return self.transact("setFeeSplit", split.as_tuple())

    def set_challenge_window(self, seconds: int) -> TxResult:
        return self.transact("setChallengeWindow", seconds)

    def set_challenge_bond(self, amount: int) -> TxResult:
        return self.transact("setChallengeBond", amount)

    def set_claim_period(self, seconds: int) -> TxResult:
        return self.transact("setClaimPeriod", seconds)

    def set_ruling_period(self, seconds: int) -> TxResult:
        return self.transact("setRulingPeriod", seconds)

    def set_lineage_share_bps(self, bps: int) -> TxResult:
        """GOVERNANCE_ROLE only (a `parameter_proposal(vault, "setLineageShareBps", bps)` in deployments)."""
        return self.transact("setLineageShareBps", bps)

    def set_collateral_bps(self, bps: int) -> TxResult:
        return self.transact("setCollateralBps", bps)

    # ------------------------------------------------------------------ views

    def pool(self, model_id: int) -> Pool:
        return from_abi(Pool, self.view("pool", model_id))

    def get_epoch(self, model_id: int, epoch: int) -> Epoch:
        return from_abi(Epoch, self.view("getEpoch", model_id, epoch))

    def epoch_posted_event(self, model_id: int, epoch: int) -> DecodedEvent | None:
        """The latest `EpochPosted` of that epoch (an epoch struck down may be posted again), or None."""
        events = self.get_events(
            "EpochPosted", self.client.deployment.block_number, "latest", model_id, epoch
        )
        return events[-1] if events else None

    def report_cid(self, model_id: int, epoch: int) -> str:
        """The report CID of the epoch's current root: the vault keeps it in `EpochPosted` only."""
        event = self.epoch_posted_event(model_id, epoch)
        return str(event.args["reportCid"]) if event is not None else ""

    def next_epoch(self, model_id: int) -> int:
        return int(self.view("nextEpoch", model_id))

    def is_claimed(self, model_id: int, epoch: int, index: int) -> bool:
        return bool(self.view("isClaimed", model_id, epoch, index))

    def lineage_share_bps(self, block: BlockIdentifier = "latest") -> int:
        return int(self.contract.functions.lineageShareBps().call(block_identifier=block))

    def upstream_split(
        self, model_id: int, upstream: int, block: BlockIdentifier = "latest"
    ) -> list[tuple[int, int]]:
        """(ancestor model id, amount it keeps) of `upstream`, parent first (the contract's rule)."""
        call = self.contract.functions.upstreamSplit(model_id, upstream)
        models, _jobs, kept = call.call(block_identifier=block)
        return [(int(m), int(k)) for m, k in zip(models, kept, strict=True)]

    def fee_split(self) -> FeeSplit:
        return from_abi(FeeSplit, self.view("feeSplit"))

    def credited(self, account: str) -> int:
        return int(self.view("credited", to_checksum_address(account)))

    def payment_count(self) -> int:
        return int(self.view("paymentCount"))

    def challenge_bond(self) -> int:
        return int(self.view("challengeBond"))

    def challenge_window(self) -> int:
        return int(self.view("challengeWindow"))

    def claim_period(self) -> int:
        return int(self.view("claimPeriod"))

    def ruling_period(self) -> int:
        return int(self.view("rulingPeriod"))

    def collateral_bps(self) -> int:
        return int(self.view("collateralBps"))

    def collateral_for(self, total: int) -> int:
        """Stake an epoch root of `total` locks."""
        return collateral_for(total, self.collateral_bps())


def payment_of(event: DecodedEvent) -> Payment:
    """The Payment an `InferencePaid` event records."""
    args = event.args
    return Payment(
        payment_id=int(args["paymentId"]),
        model_id=int(args["modelId"]),
        payer=args["payer"],
        request_count=int(args["requestCount"]),
        amount=int(args["amount"]),
        request_ref=bytes(args["requestRef"]),
        treasury_share=int(args["treasuryShare"]),
        owner_share=int(args["ownerShare"]),
        provider_share=int(args["providerShare"]),
        contributors_share=int(args["contributorsShare"]),
        block_number=event.block_number,
        tx_hash=event.tx_hash,
    )
