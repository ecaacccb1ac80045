"""Canonical JSON: one byte string per value (sorted keys, no spaces, UTF-8), so equal data has equal CIDs
and hashes. Every file or message that someone else hashes is written through this one function."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Sorted keys, `,`/`:` separators, UTF-8 without escaping, no NaN/Infinity (not JSON)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")
