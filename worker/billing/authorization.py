"""The payer's authorization of one request: an EIP-712 signature over (model, payment, request index,
hash of the exact request body), in a domain bound to the chain id and the RewardVault.

The payment itself is the payer's own `payForInference` transaction; the signature proves that whoever
sends the request controls the paying account, so a payment seen on-chain cannot be spent by anyone
else, a signed request cannot be replayed with another body or for another model, and each request index
of a payment is answered once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils.crypto import keccak

from worker.billing.errors import PaymentRequired
from worker.billing.receipts import eip712_domain
from worker.chain.accounts import Signer, recover_typed_data
from worker.units import parse_uint256

REQUEST_DOMAIN = "OpenLedger Inference"
PAYMENT_HEADER = "X-OpenLedger-Payment"
INDEX_HEADER = "X-OpenLedger-Request-Index"
SIGNATURE_HEADER = "X-OpenLedger-Signature"

REQUEST_TYPES: dict[str, list[dict[str, str]]] = {
    "InferenceRequest": [
        {"name": "modelId", "type": "uint256"},
        {"name": "paymentId", "type": "uint256"},
        {"name": "requestIndex", "type": "uint256"},
        {"name": "bodyHash", "type": "bytes32"},
    ]
}


def request_domain(chain_id: int, vault: str) -> dict[str, Any]:
    return eip712_domain(REQUEST_DOMAIN, chain_id, vault)


def _message(model_id: int, payment_id: int, index: int, body: bytes) -> dict[str, Any]:
    return {"modelId": model_id, "paymentId": payment_id, "requestIndex": index, "bodyHash": keccak(body)}


def sign_request(
    signer: Signer, domain: dict[str, Any], model_id: int, payment_id: int, index: int, body: bytes
) -> dict[str, str]:
    """The headers that authorize `body` as request `index` of payment `payment_id`."""
    sig = signer.sign_typed_data(domain, REQUEST_TYPES, _message(model_id, payment_id, index, body))
    return {
        PAYMENT_HEADER: str(payment_id),
        INDEX_HEADER: str(index),
        SIGNATURE_HEADER: sig.to_hex(),
    }


@dataclass(frozen=True)
class RequestAuthorization:
    payment_id: int
    index: int
    signature: bytes

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RequestAuthorization:
        lowered = {k.lower(): v for k, v in headers.items()}
        values = [
            lowered.get(h.lower(), "").strip() for h in (PAYMENT_HEADER, INDEX_HEADER, SIGNATURE_HEADER)
        ]
        if not all(values):
            raise PaymentRequired(
                "this request is not paid: pay with RewardVault.payForInference(modelId, requests, ref) and "
                f"send {PAYMENT_HEADER}, {INDEX_HEADER} and {SIGNATURE_HEADER} (see `openledger infer`)",
                code="payment_missing",
            )
        payment, index, signature = values
        try:
            payment_id, request_index = parse_uint256(payment), parse_uint256(index)
        except ValueError:
            raise PaymentRequired(
                f"{PAYMENT_HEADER} and {INDEX_HEADER} must be decimal uint256 values (ASCII digits, below "
                "2**256)",
                code="payment_malformed",
            ) from None
        try:
            raw = bytes.fromhex(signature.removeprefix("0x"))
        except ValueError:
            raw = b""
        if len(raw) != 65:
            raise PaymentRequired(
                f"{SIGNATURE_HEADER} must be a 65-byte 0x-hex signature", code="payment_malformed"
            )
        return cls(payment_id, request_index, raw)

    def signer(self, domain: dict[str, Any], model_id: int, body: bytes) -> str:
        """The account that signed this authorization for `body` on `model_id`."""
        message = _message(model_id, self.payment_id, self.index, body)
        try:
            return recover_typed_data(domain, REQUEST_TYPES, message, self.signature)
        except (ValueError, TypeError):
            raise PaymentRequired(
                f"{SIGNATURE_HEADER} is not a valid signature", code="payment_malformed"
            ) from None
