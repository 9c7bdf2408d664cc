"""Process a photo — fetched through the WeChat media API, or uploaded — and store it with a thumbnail."""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from core.glossary import PhotoStatus
from core.models import GrantFile, Photo
from core.models.base import utcnow
from media.imaging import ImageRejected, process_photo
from media.storage import BadKey, ObjectMissing, Store, store_for
from worker import runtime
from worker.jobs.media import MediaGone, download, fail_for_good

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 10 * 1024 * 1024


def fetch_photo(photo_id: int) -> str:
    """Download photo `photo_id` from WeChat, process it and mark it ready (or failed for good).

    Network and API failures raise, so rq retries the job; a photo already ready is left alone.
    """
    rt = runtime.current()
    with rt.database.session() as session:
        photo = session.get(Photo, photo_id)
        if photo is None:
            return "missing"
        if photo.status != PhotoStatus.PENDING:
            return photo.status.value
        store = store_for(rt.settings)
        upload = photo.upload_path
        if upload is not None:
            data = _read_upload(store, upload)
            if data is None:
                return fail_for_good(session, photo, "上传的图片文件不见了")
        elif photo.wechat_media_id:
            try:
                data = download(rt, photo.wechat_media_id, MAX_DOWNLOAD).data
            except MediaGone as exc:
                return fail_for_good(session, photo, str(exc))
        else:
            return fail_for_good(session, photo, "照片既没有上传文件，也没有微信素材")
        try:
            processed = process_photo(data)
        except ImageRejected as exc:
            return fail_for_good(session, photo, str(exc))
        digest = hashlib.sha256(processed.jpeg).hexdigest()
        base = f"photos/{photo.created_at:%Y/%m}/{photo.id}-{digest[:12]}"
        # A store that does not answer raises StoreUnavailable: rq tries the job again later.
        photo.path = store.put(f"{base}.jpg", processed.jpeg, "image/jpeg")
        photo.thumb_path = store.put(f"{base}-thumb.jpg", processed.thumbnail, "image/jpeg")
        photo.width, photo.height = processed.width, processed.height
        photo.sha256 = digest
        photo.status = PhotoStatus.READY
        photo.processed_at = utcnow()
        photo.upload_path = None
        session.commit()
        if upload is not None:
            # The original still carries its EXIF (GPS, camera); only the clean copy may stay.
            _remove_upload(store, upload)
        return "ready"


def process_grant_photo(grant_file_id: int, **_ignored: Any) -> str:
    """Make the clean copy of a grant photo kept as uploaded, and mark it ready (or failed for good).

    A photo already processed is left alone. The upload is removed once the clean copy is committed,
    and also when it is no photo after all: nothing of it will ever be shown. What a crash leaves
    behind is removed by the upload sweep (worker/jobs/uploads.py).
    """
    rt = runtime.current()
    with rt.database.session() as session:
        row = session.get(GrantFile, grant_file_id)
        if row is None:
            return "missing"
        if row.status != PhotoStatus.PENDING:
            return row.status.value
        store = store_for(rt.settings)
        upload = row.upload_path
        data = _read_upload(store, upload) if upload else None
        if data is None:
            return _grant_photo_failed(session, store, row, upload, "上传的图片文件不见了")
        try:
            processed = process_photo(data)
        except ImageRejected as exc:
            return _grant_photo_failed(session, store, row, upload, str(exc))
        relative = f"grants/{row.application_id}/{uuid.uuid4().hex}.jpg"
        row.path = store.put(relative, processed.jpeg, "image/jpeg")
        row.status = PhotoStatus.READY
        row.upload_path = None
        session.commit()
        # The original still carries its EXIF (GPS, camera); only the clean copy may stay.
        _remove_upload(store, upload)
        return "ready"


def _read_upload(store: Store, key: str) -> bytes | None:
    """The upload's bytes, or None if it is gone (or its key is no key); a store that is down raises, to retry."""
    try:
        return store.read(key)
    except (ObjectMissing, BadKey):
        return None


def _remove_upload(store: Store, key: str | None) -> None:
    if key is None:
        return
    try:
        store.delete(key)
    except BadKey:
        pass  # never stored under such a key
    except Exception as exc:  # the row is committed; the sweep removes what is left, an hour later
        log.warning("upload left for the sweep: %s", type(exc).__name__)


def _grant_photo_failed(session: Any, store: Store, row: GrantFile, upload: str | None, reason: str) -> str:
    log.warning("grant photo %s failed for good: %s", row.id, reason)
    row.status = PhotoStatus.FAILED
    row.error = reason
    row.upload_path = None
    session.commit()
    _remove_upload(store, upload)
    return "failed"
