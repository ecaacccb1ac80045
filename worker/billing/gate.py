"""The payment gate: a request is answered only if it spends an unused, unexpired unit of a confirmed
on-chain payment for this model, authorized by the payer's signature over this exact body. Anything else
is PaymentRequired (HTTP 402) with a code and a message that says what is wrong and what to do. A
payment's units expire `unit_ttl` seconds of chain time after its block (worker.billing.payments),
refused with code `payment_expired`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from worker.billing.authorization import RequestAuthorization, request_domain
from worker.billing.errors import PaymentRequired
from worker.billing.limits import RateLimit, RateLimiter
from worker.billing.payments import UNIT_TTL, PaymentBook, expires_at, is_expired
from worker.billing.receipts import hash_hex
from worker.chain.client import ChainClient
from worker.chain.finality import Finality
from worker.chain.types import Payment

MAX_SERVED_INDEX = 2**63 - 1  # the receipt log's BIGINT keys; a payment of more units is served up to it


@dataclass(frozen=True)
class PaidRequest:
    payment: Payment
    index: int
    body_hash: str  # keccak256 of the request body, 0x hex


class PaymentGate:
    def __init__(
        self,
        client: ChainClient,
        confirmations: int | None = None,
        unit_ttl: int = UNIT_TTL,
        payer_limit: RateLimit | None = None,
        *,
        finality: Finality | None = None,
        book: PaymentBook | None = None,
    ):
        """Payments are read from `book` (pass the one the epoch service uses, so both share one index),
        else from a PaymentBook of its own, final by `finality` / `confirmations` (the chain's default
        when neither is given)."""
        self.client, self.unit_ttl = client, unit_ttl
        self.payer_limiter = RateLimiter(payer_limit or RateLimit(0, 0), "payer")
        if book is None:
            book = PaymentBook(client, confirmations, finality=finality)
        elif (finality is not None and finality != book.finality) or (
            confirmations is not None and Finality.confirmations(confirmations) != book.finality
        ):
            raise ValueError(f"the payment book decides finality by {book.finality}; pass one or the other")
        self.book = book
        self.vault = client.vault.address
        self.domain = request_domain(client.sender.chain_id, self.vault)

    def check(self, model_id: int, headers: Mapping[str, str], body: bytes) -> PaidRequest:
        """The paid request unit `body` spends; PaymentRequired when there is none. Whether the unit is
        still unanswered is settled by `ReceiptLog.reserve`, atomically, just before the model runs."""
        auth = RequestAuthorization.from_headers(headers)
        pid, index = auth.payment_id, auth.index
        # The signature first: recovering it costs no RPC, and the signer is who the rate limit counts.
        signer = auth.signer(self.domain, model_id, body)
        self.payer_limiter.take(signer)
        payment = self.book.confirmed(pid)
        if payment.model_id != model_id:
            raise PaymentRequired(
                f"payment {pid} paid for model {payment.model_id}, not model {model_id}: pay for this model",
                code="payment_wrong_model",
            )
        if index >= payment.request_count:
            raise PaymentRequired(
                f"payment {pid} covers {payment.request_count} request(s) "
                f"(indexes 0..{payment.request_count - 1}): request index {index} is beyond it; "
                "pay for more requests",
                code="payment_exhausted",
            )
        if signer != payment.payer:  # before the expiry check: a stranger costs no further RPC
            raise PaymentRequired(
                f"the request is signed by {signer}, but payment {pid} was made by {payment.payer}: only the "
                "payer can spend a payment (and the signature covers the exact body, model and index)",
                code="payment_not_yours",
            )
        if index > MAX_SERVED_INDEX:
            raise PaymentRequired(
                f"request index {index} is beyond {MAX_SERVED_INDEX}, the highest this server answers (its "
                "receipt log keys units by 64-bit integers): use a lower index of the payment",
                code="payment_exhausted",
            )
        self._check_unexpired(payment)
        return PaidRequest(payment, index, hash_hex(body))

    def expires_at(self, payment: Payment) -> int:
        """The chain time from which the payment's units are refused."""
        return expires_at(self.book.paid_at(payment), self.unit_ttl)

    def _check_unexpired(self, payment: Payment) -> None:
        now, paid_at = self.client.latest_timestamp(), self.book.paid_at(payment)
        if is_expired(paid_at, self.unit_ttl, now):
            raise PaymentRequired(
                f"payment {payment.payment_id} expired at chain time {expires_at(paid_at, self.unit_ttl)} "
                f"(now {now}): its units may be used for {self.unit_ttl} s after the payment's block, and "
                "the value of the unused ones goes to the model's contributors; pay again",
                code="payment_expired",
            )
