"""Attribution receipts: what the serving worker signs (EIP-712) for every paid answer.

A receipt binds the answer to everything a payout depends on: the model and its adapter, the on-chain
payment and the request's index within it, the hash of the request body the payer signed, the hash of the
output, and the contributors the answer is attributed to with their weights (parts per million). The
evidence (top training records with their scores, exact-span matches for generated text) travels next to
the receipt and is pinned by `evidenceHash`. The domain is bound to the chain id and the RewardVault, so a
receipt cannot be replayed on another chain or deployment. Anyone can verify one with `verify()`.
"""

from __future__ import annotations

from typing import Any

from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from worker.billing.errors import ReceiptError
from worker.canonical import canonical_json
from worker.chain.accounts import Signer, recover_typed_data
from worker.units import PPM

RECEIPT_DOMAIN = "OpenLedger Receipt"
RECEIPT_VERSION = "1"
BASES = ("answer", "model")  # weights from this answer's attribution, or the model-level fallback
MAX_CONTRIBUTORS = 64

RECEIPT_TYPES: dict[str, list[dict[str, str]]] = {
    "Receipt": [
        {"name": "modelId", "type": "uint256"},
        {"name": "adapterCid", "type": "string"},
        {"name": "paymentId", "type": "uint256"},
        {"name": "requestIndex", "type": "uint256"},
        {"name": "requestHash", "type": "bytes32"},
        {"name": "outputHash", "type": "bytes32"},
        {"name": "evidenceHash", "type": "bytes32"},
        {"name": "contributors", "type": "address[]"},
        {"name": "weightsPpm", "type": "uint32[]"},
        {"name": "basis", "type": "string"},
        {"name": "issuedAt", "type": "uint64"},
    ]
}
_SIGNED = [item["name"] for item in RECEIPT_TYPES["Receipt"]]


def eip712_domain(name: str, chain_id: int, vault: str) -> dict[str, Any]:
    """An EIP-712 domain bound to one chain and one RewardVault deployment."""
    return {
        "name": name,
        "version": RECEIPT_VERSION,
        "chainId": int(chain_id),
        "verifyingContract": to_checksum_address(vault),
    }


def receipt_domain(chain_id: int, vault: str) -> dict[str, Any]:
    return eip712_domain(RECEIPT_DOMAIN, chain_id, vault)


def hash_hex(data: bytes) -> str:
    """keccak256 as 0x hex: the form every hash takes in receipts and reports."""
    return "0x" + keccak(data).hex()


def json_hash(value: Any) -> str:
    """keccak256 of the canonical JSON of `value` (sorted keys, no spaces, UTF-8)."""
    return hash_hex(canonical_json(value))


def _bytes32(value: str, field: str) -> str:
    raw = value.removeprefix("0x")
    if not value.startswith("0x") or len(raw) != 64 or any(c not in "0123456789abcdefABCDEF" for c in raw):
        raise ValueError(f"{field} must be 32 bytes of 0x hex")
    return value.lower()


class ReceiptBody(BaseModel):
    """The signed fields of a receipt plus its evidence (what the worker decides, before signing)."""

    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid", protected_namespaces=()
    )

    model_id: int = Field(ge=1)
    adapter_cid: str = Field(min_length=1)
    payment_id: int = Field(ge=1)
    request_index: int = Field(ge=0)
    request_hash: str
    output_hash: str
    evidence_hash: str
    contributors: list[str] = Field(max_length=MAX_CONTRIBUTORS)
    weights_ppm: list[int]
    basis: str
    issued_at: int = Field(ge=0)
    evidence: dict[str, Any] = Field(default_factory=dict)

    @field_validator("request_hash", "output_hash", "evidence_hash")
    @classmethod
    def _hashes(cls, value: str, info: Any) -> str:
        return _bytes32(value, to_camel(info.field_name))

    @field_validator("contributors")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not is_address(a)]
        if bad:
            raise ValueError(f"contributors must be addresses, got {bad[:3]}")
        return [to_checksum_address(a) for a in value]

    @field_validator("basis")
    @classmethod
    def _basis(cls, value: str) -> str:
        if value not in BASES:
            raise ValueError(f"basis must be one of {BASES}")
        return value

    @model_validator(mode="after")
    def _weights(self) -> ReceiptBody:
        weights = self.weights_ppm
        if len(weights) != len(self.contributors):
            raise ValueError("weightsPpm must have one weight per contributor")
        if any(w <= 0 or w > PPM for w in weights) or sum(weights) > PPM:
            raise ValueError(f"weightsPpm must be positive and sum to at most {PPM}")
        if len(set(self.contributors)) != len(self.contributors):
            raise ValueError("contributors must be distinct")
        return self

    def message(self) -> dict[str, Any]:
        """The EIP-712 message (bytes32 fields as bytes)."""
        data = self.model_dump(by_alias=True)
        message = {name: data[name] for name in _SIGNED}
        for name in ("requestHash", "outputHash", "evidenceHash"):
            message[name] = bytes.fromhex(message[name][2:])
        return message

    def weights(self) -> dict[str, int]:
        return dict(zip(self.contributors, self.weights_ppm, strict=True))


class Receipt(ReceiptBody):
    """A signed receipt: the body, the signer's address and its 65-byte signature (0x hex)."""

    signer: str
    signature: str

    @field_validator("signer")
    @classmethod
    def _signer(cls, value: str) -> str:
        if not is_address(value):
            raise ValueError("signer must be an address")
        return to_checksum_address(value)

    @field_validator("signature")
    @classmethod
    def _signature(cls, value: str) -> str:
        raw = value.removeprefix("0x")
        if (
            not value.startswith("0x")
            or len(raw) != 130
            or any(c not in "0123456789abcdefABCDEF" for c in raw)
        ):
            raise ValueError("signature must be 65 bytes of 0x hex")
        return value.lower()

    def body(self) -> ReceiptBody:
        return ReceiptBody(**self.model_dump(exclude={"signer", "signature"}))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)

    @classmethod
    def from_dict(cls, data: Any) -> Receipt:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "receipt"
            raise ReceiptError(f"malformed receipt: {where}: {first['msg']}") from None

    def recover(self, domain: dict[str, Any]) -> str:
        """The address that signed this receipt's fields under `domain`."""
        try:
            return recover_typed_data(
                domain, RECEIPT_TYPES, self.message(), bytes.fromhex(self.signature[2:])
            )
        except (ValueError, TypeError) as exc:
            raise ReceiptError(f"receipt signature is not a valid signature: {exc}") from None

    def verify(self, domain: dict[str, Any], expected_signer: str | None = None) -> None:
        """Raise ReceiptError unless the evidence matches its hash and the signature is `signer`'s (and
        `expected_signer`'s, e.g. the model's registered compute provider)."""
        if json_hash(self.evidence) != self.evidence_hash:
            raise ReceiptError("receipt evidence does not match its evidenceHash: it was altered")
        recovered = self.recover(domain)
        if recovered != self.signer:
            raise ReceiptError(
                f"receipt signature recovers to {recovered}, not its signer {self.signer}: the receipt was "
                "altered or signed under another chain or vault"
            )
        if expected_signer is not None and to_checksum_address(expected_signer) != self.signer:
            raise ReceiptError(
                f"receipt is signed by {self.signer}, not by the model's compute provider {expected_signer}"
            )


def sign_receipt(signer: Signer, domain: dict[str, Any], body: ReceiptBody) -> Receipt:
    """Sign `body` with the worker's key; the evidence hash must already be set (see `json_hash`)."""
    if json_hash(body.evidence) != body.evidence_hash:
        raise ReceiptError("evidenceHash does not match the evidence: compute it with json_hash(evidence)")
    signature = signer.sign_typed_data(domain, RECEIPT_TYPES, body.message()).to_hex()
    return Receipt(**body.model_dump(), signer=signer.address, signature=signature)
