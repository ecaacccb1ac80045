"""A paid request, in one place: the on-chain payment and how long its units may be spent, the payer's
signed authorization of each request, the gate that admits a request, the worker's signed receipt of the
answer, and the durable receipt log (which epochs later pay out, worker.rewards).

    payments       PaymentBook: payments final by the server's Finality, re-checked before payout;
                   unit expiry (UNIT_TTL)
    payment_index  PaymentIndex: the vault's InferencePaid events of final blocks, in the database
    authorization  the payer's EIP-712 request signature (headers, domain, recovery)
    gate           PaymentGate.check(): the request unit a body spends, or PaymentRequired
    receipts       EIP-712 attribution receipts (sign, verify)
    receipt_log    SQLite log of receipts and epochs (durable before an answer leaves)
    errors         BillingError, PaymentRequired (402 codes), DuplicateReceipt, ReceiptError
"""

from worker.billing.authorization import RequestAuthorization, request_domain, sign_request
from worker.billing.errors import BillingError, DuplicateReceipt, PaymentRequired, ReceiptError
from worker.billing.gate import PaidRequest, PaymentGate
from worker.billing.payment_index import PaymentIndex, PaymentStatus
from worker.billing.payments import UNIT_TTL, PaymentBook
from worker.billing.receipt_log import EpochRecord, EpochState, ReceiptLog
from worker.billing.receipts import Receipt, ReceiptBody, receipt_domain, sign_receipt

__all__ = [
    "UNIT_TTL",
    "BillingError",
    "DuplicateReceipt",
    "EpochRecord",
    "EpochState",
    "PaidRequest",
    "PaymentBook",
    "PaymentGate",
    "PaymentIndex",
    "PaymentRequired",
    "PaymentStatus",
    "Receipt",
    "ReceiptBody",
    "ReceiptError",
    "ReceiptLog",
    "RequestAuthorization",
    "receipt_domain",
    "request_domain",
    "sign_receipt",
    "sign_request",
]
