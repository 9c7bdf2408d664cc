"""The store on this machine's disk: files under one directory (MEDIA_DIR by default), written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from media.storage.base import BadKey, ObjectInfo, ObjectMissing, StoredObject, StoreUnavailable, check_key

# Half-written files start with this; listing skips them (the writer renames or removes them).
TEMP_PREFIX = ".tmp-"


class LocalStore:
    """Files under `root`; a key is the path relative to it. Several hosts may share it over NFS."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The file of `key`, refused (BadKey) unless it lies inside the root, symbolic links resolved."""
        check_key(key)
        target = self.root / key
        root = self.root.resolve()
        if not target.resolve().is_relative_to(root):
            raise BadKey("a key must stay inside the store")
        return target

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        except OSError as exc:
            raise StoreUnavailable(f"cannot write under {self.root}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException as exc:
            os.unlink(tmp)
            if isinstance(exc, OSError):
                raise StoreUnavailable(f"cannot write under {self.root}: {exc.strerror}") from exc
            raise
        return key

    def open(self, key: str) -> StoredObject:
        path = self.path(key)
        try:
            fh = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None
        except OSError as exc:
            raise StoreUnavailable(f"cannot read under {self.root}: {exc.strerror}") from exc
        return StoredObject(fh, self._info(key, os.fstat(fh.fileno())))

    def read(self, key: str) -> bytes:
        with self.open(key).stream as fh:
            return fh.read()

    def stat(self, key: str) -> ObjectInfo | None:
        path = self.path(key)
        try:
            found = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return self._info(key, found) if path.is_file() else None

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            return  # no file under that key
        except OSError as exc:
            raise StoreUnavailable(f"cannot delete under {self.root}: {exc.strerror}") from exc

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self.root.resolve()
        # Walk only the folder the prefix names (uploads/ for the sweep), not the whole store.
        folder = prefix.rpartition("/")[0]
        if folder:
            check_key(folder)
        start = base / folder if folder else base
        if not start.is_dir():
            return
        for path in sorted(start.rglob("*")):
            if path.name.startswith(TEMP_PREFIX) or path.is_symlink():
                continue
            key = path.relative_to(base).as_posix()
            if not key.startswith(prefix):
                continue
            try:
                found = path.stat()
            except FileNotFoundError:  # removed meanwhile (a job, another sweep)
                continue
            if path.is_file():
                yield self._info(key, found)

    def presigned_url(
        self, key: str, seconds: int, content_type: str | None = None, download_name: str | None = None
    ) -> str | None:
        return None  # a file on disk is served by the app itself

    def describe(self) -> str:
        return f"file://{self.root.resolve()}"

    def digest(self, key: str) -> str:
        """The MD5 of the file (what S3 reports as the ETag of an object put whole), for the migration."""
        return hashlib.md5(self.read(key), usedforsecurity=False).hexdigest()

    @staticmethod
    def _info(key: str, found: os.stat_result) -> ObjectInfo:
        return ObjectInfo(key, found.st_size, datetime.fromtimestamp(found.st_mtime, UTC))
