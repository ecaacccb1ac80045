"""Errors of the rewards layer: receipts that do not verify, epochs that cannot be closed or claimed."""

from worker.errors import OpenLedgerError


class RewardsError(OpenLedgerError):
    """An epoch, report or claim is not what it must be; the message says what to do."""


class ReportMalformed(RewardsError):
    """Bytes that are not a well-formed epoch report of this format."""
