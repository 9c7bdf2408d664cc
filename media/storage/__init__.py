"""Every file the service keeps, in one store chosen by STORAGE_URL: a directory (file://) or S3 (s3://)."""

from __future__ import annotations

import os
import threading
from urllib.parse import unquote, urlsplit

from core.settings import Settings
from media.storage.base import BadKey, ObjectInfo, ObjectMissing, Store, StoredObject, StoreUnavailable, check_key

__all__ = [
    "BadKey",
    "ObjectInfo",
    "ObjectMissing",
    "Store",
    "StoreUnavailable",
    "StoredObject",
    "check_key",
    "open_store",
    "store_for",
]


def open_store(url: str | None, settings: Settings) -> Store:
    """The store at `url` (`file:///path` or `s3://bucket/prefix`); None: MEDIA_DIR on this disk.

    S3 takes its endpoint, region, addressing style and credentials from `settings`.
    """
    if not url:
        from media.storage.local import LocalStore

        return LocalStore(settings.media_dir)
    parts = urlsplit(url)
    if parts.scheme == "file":
        from media.storage.local import LocalStore

        return LocalStore(unquote(parts.path))
    if parts.scheme == "s3":
        from media.storage.s3 import S3Store

        return S3Store(parts.netloc, parts.path.strip("/"), settings)
    raise ValueError(f"STORAGE_URL must be file:///path or s3://bucket/prefix, not {parts.scheme or url!r}")


_stores: dict[tuple[int, str | None, Settings], Store] = {}
_lock = threading.Lock()


def store_for(settings: Settings) -> Store:
    """This process's store for `settings` (STORAGE_URL), made once.

    Kept per process id: a client's connection pool must not cross into a forked work horse.
    """
    key = (os.getpid(), settings.storage_url, settings)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = open_store(settings.storage_url, settings)
        return store
