"""Photos uploaded with a report (scan page, mini-program API): checked, kept under MEDIA_DIR, or discarded."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from werkzeug.datastructures import FileStorage

from core.services import uploads as upload_rules
from media import store
from media.imaging import MAX_UPLOAD_BYTES, ImageRejected, check_upload

UPLOAD_DIR = upload_rules.UPLOAD_DIR  # what no row refers to is deleted by the sweep (worker/jobs/uploads.py)


class UploadRejected(ValueError):
    """One of the photos is not acceptable; the message names which and why, for the resident."""


@dataclass
class SavedUploads:
    """The uploads kept for a report: paths relative to MEDIA_DIR, and the first photo's bytes."""

    paths: list[str]
    first: bytes | None


def save_photos(media_dir: str, files: Iterable[FileStorage]) -> SavedUploads:
    """Check each upload with media.imaging and keep it under MEDIA_DIR/uploads/.

    Raises UploadRejected at the first photo that is not a real image of at most 10 MB; whatever
    was kept before it is removed again, so a rejected report leaves no file behind.
    """
    saved = SavedUploads([], None)
    try:
        for number, upload in enumerate(files, start=1):
            data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
            try:
                checked = check_upload(data)
            except ImageRejected as exc:
                raise UploadRejected(f"第 {number} 张照片：{exc}") from exc
            saved.paths.append(store.save(media_dir, f"{UPLOAD_DIR}/{uuid.uuid4().hex}{checked.extension}", data))
            if saved.first is None:
                saved.first = data
    except BaseException:
        discard(media_dir, saved.paths)
        raise
    return saved


def discard(media_dir: str, paths: Iterable[str]) -> None:
    """Remove uploads that will not become part of a case (a refused or repeated report)."""
    for path in paths:
        Path(media_dir, path).unlink(missing_ok=True)
