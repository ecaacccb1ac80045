"""The exception hierarchy of OpenLedger: every error a user can see says what went wrong and what to do."""


class OpenLedgerError(Exception):
    """Base of every error raised on purpose by OpenLedger."""


class ConfigError(OpenLedgerError):
    """Missing or invalid configuration (environment, files under the home directory)."""


class ChainError(OpenLedgerError):
    """Talking to the chain failed: RPC unreachable, transaction reverted, deployment missing."""


class StorageError(OpenLedgerError):
    """Content storage failed: store corrupt, IPFS node unreachable, content missing."""


class DataError(OpenLedgerError):
    """Records do not satisfy their schema or limits."""


class TrainingError(OpenLedgerError):
    """Fine-tuning could not run: unknown base model, bad spec, unusable dataset."""


class AttributionError(OpenLedgerError):
    """Attribution could not run: adapter/index mismatch, query with nothing to measure."""
