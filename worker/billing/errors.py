"""Errors of a paid request. Each carries a stable `code`; the HTTP layer (worker.serve.app) turns a
PaymentRequired into 402 with that code, a RateLimited into 429 with Retry-After, and any other
BillingError into 503 (the worker's own storage
or chain reads failed, not the caller's request)."""

from __future__ import annotations

from worker.errors import OpenLedgerError


class BillingError(OpenLedgerError):
    code = "billing_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code or type(self).code


class PaymentRequired(BillingError):
    """No valid payment for this request: missing, unknown, unconfirmed, foreign, replayed or spent."""

    code = "payment_required"


class DuplicateReceipt(PaymentRequired):
    """The (payment, request index) pair already has a receipt: that request unit was spent."""

    code = "payment_replayed"


class RateLimited(BillingError):
    """Too many requests for one payer or client address (HTTP 429); `retry_after` seconds until the next."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class ReceiptError(BillingError):
    """A receipt is malformed, tampered with, or not signed by whom it should be."""

    code = "receipt_invalid"


class LeaseLost(BillingError):
    """Another holder has the lease now (ours ran out): whoever acted on it stops before its next effect."""
