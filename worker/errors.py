"""The exception hierarchy of OpenLedger: every error a user can see says what went wrong and what to do."""

import re


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


_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*)://([^\s/'\"<>?#,)]+)[^\s'\"<>,)]*")
_URL_PATH = re.compile(r"(?i)(with url: )\S+")  # urllib3's "Max retries exceeded with url: /path?query"


def redact_urls(text: str) -> str:
    """`text` with every URL cut to its scheme and host (no userinfo, path or query): what may be shown to
    anyone, when an RPC or IPFS URL can carry an API key in its path or a password before its host."""

    def cut(match: re.Match[str]) -> str:
        host = match.group(2).rsplit("@", 1)[-1]
        return f"{match.group(1)}://{host}"

    return _URL_PATH.sub(r"\1(redacted)", _URL.sub(cut, text))
