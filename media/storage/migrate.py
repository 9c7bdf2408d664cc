"""Copying one store into another (a file:// install moving to S3): what is there already is skipped."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from media.storage.base import BadKey, ObjectInfo, Store, check_key


@dataclass
class MigrationReport:
    """What a run did: keys copied, skipped (the same bytes already there), refused (not a key the
    stores can hold) and missing (a row refers to it but the source has no such file)."""

    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _same(target: Store, there: ObjectInfo, data: bytes) -> bool:
    """Whether the object already in `target` holds exactly `data`: same size, then the same MD5.

    An object put whole reports its MD5 as ETag (AWS, MinIO, OSS, COS, OBS); a file is read back.
    """
    if there.size != len(data):
        return False
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if there.etag:
        return there.etag == md5
    return hashlib.md5(target.read(there.key), usedforsecurity=False).hexdigest() == md5


def migrate(
    source: Store,
    target: Store,
    referenced: Iterable[str],
    progress: Callable[[str, str], None] | None = None,
) -> MigrationReport:
    """Copy every object of `source` to `target` under the same key, and say which `referenced` keys
    the source lacks. Safe to run again: an object already there with the same bytes is skipped."""
    report = MigrationReport()
    existing = {info.key: info for info in target.list("")}
    seen: set[str] = set()
    for info in source.list(""):
        try:
            check_key(info.key)
        except BadKey:
            report.refused.append(info.key)
            continue
        seen.add(info.key)
        data = source.read(info.key)
        there = existing.get(info.key)
        if there is not None and _same(target, there, data):
            report.skipped.append(info.key)
            outcome = "skipped"
        else:
            content_type = mimetypes.guess_type(info.key)[0] or "application/octet-stream"
            target.put(info.key, data, content_type)
            report.copied.append(info.key)
            outcome = "copied"
        if progress is not None:
            progress(info.key, outcome)
    report.missing = sorted(set(referenced) - seen)
    return report
