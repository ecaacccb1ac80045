"""Choosing the content store from the settings: a Kubo node when IPFS_API is set, else the embedded store."""

from __future__ import annotations

from worker.config import Settings, load_settings
from worker.storage.cid import PROJECT_PROFILE, CidProfile
from worker.storage.kubo import KuboClient
from worker.storage.local import LocalStore
from worker.storage.protocol import ContentStore


def open_store(settings: Settings | None = None, profile: CidProfile = PROJECT_PROFILE) -> ContentStore:
    settings = settings or load_settings()
    if settings.ipfs_api:
        return KuboClient(settings.ipfs_api, profile=profile)
    return LocalStore(settings.ipfs_dir, profile=profile)
