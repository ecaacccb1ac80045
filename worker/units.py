"""The units amounts are counted in, defined once."""

from __future__ import annotations

OPEN = 10**18  # one OPEN token in wei (18 decimals)
PPM = 1_000_000  # parts per million: the unit of contributor weights in attribution roots and receipts
