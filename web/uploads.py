"""Photos uploaded with a report (scan page, mini-program API): checked, kept in the store, or discarded."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.datastructures import FileStorage

from core.services import uploads as upload_rules
from media.imaging import MAX_UPLOAD_BYTES, ImageRejected, check_upload
from media.storage import Store, StoreUnavailable

log = logging.getLogger(__name__)

UPLOAD_DIR = upload_rules.UPLOAD_DIR  # what no row refers to is deleted by the sweep (worker/jobs/uploads.py)


class UploadRejected(ValueError):
    """One of the photos is not acceptable; the message names which and why, for the resident."""


@dataclass
class SavedUploads:
    """The uploads kept for a report: their keys in the store, and the first photo's bytes."""

    paths: list[str]
    first: bytes | None


def save_photos(store: Store, files: Iterable[FileStorage]) -> SavedUploads:
    """Check each upload with media.imaging and keep it in the store under uploads/.

    Raises UploadRejected at the first photo that is not a real image of at most 10 MB, and
    StoreUnavailable when the store cannot take it; whatever was kept before is removed again, so
    a rejected report leaves no file behind. Callers keep the photos before they commit the case.
    """
    saved = SavedUploads([], None)
    try:
        for number, upload in enumerate(files, start=1):
            data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
            try:
                checked = check_upload(data)
            except ImageRejected as exc:
                raise UploadRejected(f"第 {number} 张照片：{exc}") from exc
            key = f"{UPLOAD_DIR}/{uuid.uuid4().hex}{checked.extension}"
            saved.paths.append(store.put(key, data, checked.content_type))
            if saved.first is None:
                saved.first = data
    except BaseException:
        discard(store, saved.paths)
        raise
    return saved


def discard(store: Store, paths: Iterable[str]) -> None:
    """Remove uploads that will not become part of a case (a refused or repeated report).

    Never raises for the store: the answer to the request matters more, and what stays behind
    is removed by the upload sweep (worker/jobs/uploads.py) an hour later.
    """
    for path in paths:
        try:
            store.delete(path)
        except StoreUnavailable as exc:
            log.warning("upload left for the sweep: %s", exc)
