"""Content storage: Kubo-identical CIDs, an embedded content store, a Kubo RPC client, verified fetch.

    from worker.storage import open_store, verified_fetch
    store = open_store()                  # Kubo if IPFS_API is set, else $OPENLEDGER_HOME/ipfs
    cid = store.add(Path("records.jsonl"))
    data = verified_fetch(store, cid)     # raises CidMismatchError unless the bytes hash to `cid`
"""

from worker.storage.backend import open_store
from worker.storage.bundle import Bundle, add_directory, bundle_files, fetch_directory
from worker.storage.cid import (
    KUBO_DEFAULT_PROFILE,
    PROJECT_PROFILE,
    CidBuilder,
    CidProfile,
    ParsedCid,
    compute_cid,
    compute_file_cid,
    compute_stream_cid,
    parse_cid,
)
from worker.storage.errors import CidMismatchError, ContentNotFoundError, InvalidCidError
from worker.storage.kubo import KuboClient
from worker.storage.local import LocalStore
from worker.storage.protocol import ContentStore
from worker.storage.sources import Source
from worker.storage.verify import verified_fetch, verified_fetch_to_path, verified_stream

__all__ = [
    "Bundle",
    "KUBO_DEFAULT_PROFILE",
    "PROJECT_PROFILE",
    "CidBuilder",
    "CidMismatchError",
    "CidProfile",
    "ContentNotFoundError",
    "ContentStore",
    "InvalidCidError",
    "KuboClient",
    "LocalStore",
    "ParsedCid",
    "Source",
    "add_directory",
    "bundle_files",
    "compute_cid",
    "compute_file_cid",
    "compute_stream_cid",
    "fetch_directory",
    "open_store",
    "parse_cid",
    "verified_fetch",
    "verified_fetch_to_path",
    "verified_stream",
]
