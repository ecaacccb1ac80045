"""RewardVault: inference payments and their split, epoch roots, Merkle claims, credited balances."""

from __future__ import annotations

import os
from collections.abc import Sequence

from eth_utils import to_checksum_address

from worker.chain.bindings import ContractBinding, TxResult
from worker.chain.types import Epoch, FeeSplit, Payment, Pool, from_abi


class RewardVault(ContractBinding):
    NAME = "RewardVault"
    CREATED_ID = {"payForInference": ("InferencePaid", "paymentId")}

    # ------------------------------------------------------------------ payments

    def pay_for_inference(
        self, model_id: int, request_count: int, request_ref: bytes | None = None
    ) -> TxResult:
        """Approve price * requestCount if needed and pay; `created_id` is the payment id. `request_ref`
        is the payer's own 32-byte reference (random if not given)."""
        price = self.client.models.get_model(model_id).price_per_inference
        self.client.token.ensure_allowance(self.address, price * request_count)
        ref = request_ref if request_ref is not None else os.urandom(32)
        return self.transact("payForInference", model_id, request_count, ref)

    def get_payment(self, payment_id: int, to_block: int | str = "latest") -> Payment | None:
        """The `InferencePaid` event of `payment_id` (mined at or before `to_block`), or None.

        The vault keeps no payment struct in storage (the event is the record), so this is one
        eth_getLogs filtered on the indexed payment id, from the deployment block on."""
        events = self.get_events("InferencePaid", self.client.deployment.block_number, to_block, payment_id)
        if not events:
            return None
        event = events[0]
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

    def withdraw(self) -> TxResult:
        return self.transact("withdraw")

    def withdraw_for(self, account: str) -> TxResult:
        return self.transact("withdrawFor", to_checksum_address(account))

    # ------------------------------------------------------------------ epochs

    def post_epoch_root(
        self, model_id: int, epoch: int, root: bytes, total: int, report_cid: str
    ) -> TxResult:
        return self.transact("postEpochRoot", model_id, epoch, root, total, report_cid)

    def challenge_epoch(self, model_id: int, epoch: int, reason_cid: str) -> TxResult:
        """Approve the current epoch challenge bond if needed and dispute the root."""
        self.client.token.ensure_allowance(self.address, self.challenge_bond())
        return self.transact("challengeEpoch", model_id, epoch, reason_cid)

    def resolve_epoch_challenge(self, model_id: int, epoch: int, upheld: bool) -> TxResult:
        return self.transact("resolveEpochChallenge", model_id, epoch, upheld)

    def finalize_epoch(self, model_id: int, epoch: int) -> TxResult:
        return self.transact("finalizeEpoch", model_id, epoch)

    def claim(self, model_id: int, epoch: int, account: str, amount: int, proof: Sequence[bytes]) -> TxResult:
        """Pay leaf (account, amount) of a finalized epoch to `account` (anyone may send it)."""
        return self.transact("claim", model_id, epoch, to_checksum_address(account), amount, list(proof))

    # ------------------------------------------------------------------ governance setters

    def set_fee_split(self, split: FeeSplit) -> TxResult:
        return self.transact("setFeeSplit", split.as_tuple())

    def set_challenge_window(self, seconds: int) -> TxResult:
        return self.transact("setChallengeWindow", seconds)

    def set_challenge_bond(self, amount: int) -> TxResult:
        return self.transact("setChallengeBond", amount)

    # ------------------------------------------------------------------ views

    def pool(self, model_id: int) -> Pool:
        return from_abi(Pool, self.view("pool", model_id))

    def get_epoch(self, model_id: int, epoch: int) -> Epoch:
        return from_abi(Epoch, self.view("getEpoch", model_id, epoch))

    def next_epoch(self, model_id: int) -> int:
        return int(self.view("nextEpoch", model_id))

    def is_claimed(self, model_id: int, epoch: int, account: str, amount: int) -> bool:
        return bool(self.view("isClaimed", model_id, epoch, to_checksum_address(account), amount))

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
