"""The units amounts are counted in, defined once."""

from __future__ import annotations

OPEN = 10**18  # one OPEN token in wei (18 decimals)
PPM = 1_000_000  # parts per million: the unit of contributor weights in attribution roots and receipts
UINT256_MAX = 2**256 - 1
_UINT256_DIGITS = len(str(UINT256_MAX))  # 78


def parse_uint256(text: str) -> int:
    """A decimal uint256 as the chain knows it: ASCII digits only (no sign, no "²" or other Unicode digits,
    no whitespace inside), at most 78 of them, below 2**256. ValueError otherwise, before any big-int work."""
    if not (text.isascii() and text.isdigit()) or len(text) > _UINT256_DIGITS:
        raise ValueError(f"not a uint256: {text[:80]!r}")
    value = int(text)
    if value > UINT256_MAX:
        raise ValueError(f"not a uint256 (>= 2**256): {text!r}")
    return value
