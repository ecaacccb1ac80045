"""Storage errors a caller can tell apart: missing content, content that is not its CID, bad CIDs."""

from __future__ import annotations

from worker.errors import StorageError


class ContentNotFoundError(StorageError):
    """The store holds no content under this CID."""

    def __init__(self, cid: str, source: str, detail: str = "") -> None:
        self.cid = cid
        self.source = source
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{cid} is not in the {source}{extra}: add the content first, "
            "or point IPFS_API at a node that has it"
        )


class CidMismatchError(StorageError):
    """Bytes read back (or an IPFS node's answer) do not hash to the CID they were asked for."""

    def __init__(self, expected: str, computed: str, source: str, hint: str = "") -> None:
        self.expected = expected
        self.computed = computed
        self.source = source
        advice = hint or "the content is corrupt or was tampered with: do not use it, fetch it elsewhere"
        super().__init__(
            f"CID mismatch from the {source}: expected {expected}, computed {computed}; {advice}"
        )


class InvalidCidError(StorageError):
    """A string that is not a CID this project can compute (CIDv0, or CIDv1 raw/dag-pb with sha2-256)."""

    def __init__(self, cid: object, reason: str) -> None:
        self.cid = cid
        super().__init__(
            f"{cid!r} is not a usable CID: {reason}; "
            "expected a CIDv1 like 'bafk...'/'bafy...' or a CIDv0 'Qm...'"
        )
