"""The explorer: an indexer of the protocol's events into SQL (the daemon's reorg-safe follower), a JSON
read API over it, and web pages whose wallet actions are signed in the browser (docs/EXPLORER.md)."""

from worker.explorer.app import create_explorer_app, mount_explorer
from worker.explorer.indexer import Indexer, IndexerSettings, default_db_path
from worker.explorer.schema import ExplorerDatabase
from worker.explorer.service import ExplorerService

__all__ = [
    "ExplorerDatabase",
    "ExplorerService",
    "Indexer",
    "IndexerSettings",
    "create_explorer_app",
    "default_db_path",
    "mount_explorer",
]
