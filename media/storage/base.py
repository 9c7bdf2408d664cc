"""What every store does: keys, the errors it raises and the operations (put, open, stat, delete, list, presign)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

# A key is a relative path (the paths the database stores, Photo.path and the like): no control
# characters, no backslash (a separator on some systems), no absolute path, no `.` or `..` segment.
_REFUSED = re.compile(r"[\x00-\x1f\x7f\\]")
MAX_KEY = 1024


class BadKey(ValueError):
    """A key that is not a plain relative path (`..`, absolute, empty, odd characters): refused, never used."""


class ObjectMissing(LookupError):
    """No object under that key."""


class StoreUnavailable(Exception):
    """The store did not answer or refused (down, no credentials, no bucket); the caller may try again later."""


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key, size in bytes, last change, and the store's tag (S3's ETag; None on disk)."""

    key: str
    size: int
    modified: datetime
    etag: str | None = None


@dataclass
class StoredObject:
    """An object opened for reading: a stream to read (and close) and what is known of it."""

    stream: BinaryIO
    info: ObjectInfo


def check_key(key: str) -> str:
    """`key` if it is a plain relative path; BadKey otherwise (the key itself is not repeated: it may be hostile)."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        raise BadKey("a key must be a relative path of 1 to 1024 characters")
    if _REFUSED.search(key) or any(segment in ("", ".", "..") for segment in key.split("/")):
        raise BadKey("a key must be a relative path without empty, '.' or '..' parts")
    return key


class Store(Protocol):
    """Where the service keeps its files; keys are relative paths such as `photos/2026/11/42-ab12.jpg`."""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store `data` under `key` whole (a reader never sees half of it); returns `key`."""
        ...

    def open(self, key: str) -> StoredObject:
        """The object's bytes as a stream; ObjectMissing if there is none."""
        ...

    def read(self, key: str) -> bytes:
        """All of the object's bytes; ObjectMissing if there is none."""
        ...

    def stat(self, key: str) -> ObjectInfo | None:
        """What is known of the object, or None if there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens if there is none."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix` (a folder such as `uploads/`, or "" for all)."""
        ...

    def presigned_url(
        self, key: str, seconds: int, content_type: str | None = None, download_name: str | None = None
    ) -> str | None:
        """A URL anyone may GET the object at for `seconds`; None where the store cannot make one (disk)."""
        ...

    def describe(self) -> str:
        """Where the store is, for messages (no credentials)."""
        ...
