"""Grant photos (kept as uploaded until the worker has cleaned them) and PDF attachments: served signed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from core.grants import files as grant_files
from core.models import GrantFile
from core.settings import Settings
from media.imaging import MAX_UPLOAD_BYTES
from media.storage import store_for
from web import uploads
from web.uploads import UploadRejected

SALT = "gongzhi.grant-file"
URL_MAX_AGE_SECONDS = 6 * 3600


def save_photos(
    session: Session,
    settings: Settings,
    application_id: int,
    files: Sequence[FileStorage],
    report_id: int | None = None,
) -> list[GrantFile]:
    """Check each photo quickly (media.imaging.check_upload), keep it in the store under uploads/, and add
    a pending GrantFile queued for the worker, which makes the clean copy; all or nothing in the store.

    The count is checked before any body is read. Should the caller's transaction fail after this,
    the uploads no row refers to are removed by the upload sweep.
    """
    grant_files.check_room(session, application_id, len(files))
    store = store_for(settings)
    saved = uploads.save_photos(store, files)
    try:
        names = [(upload.filename or "")[:128] for upload in files]
        return grant_files.add_photos(session, application_id, list(zip(saved.paths, names, strict=True)), report_id)
    except BaseException:
        uploads.discard(store, saved.paths)
        raise


def save_attachments(
    session: Session, settings: Settings, application_id: int, files: Sequence[FileStorage]
) -> list[GrantFile]:
    """Keep PDF attachments (plans, quotes) as they came; all or nothing in the store.

    Only PDF is taken: it is what plans and quotations are sent as, and a browser shows it without
    running anything of ours. Attachments are never on the public page.
    """
    grant_files.check_room(session, application_id, len(files))
    store = store_for(settings)
    written: list[str] = []
    rows: list[GrantFile] = []
    try:
        for number, upload in enumerate(files, start=1):
            data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES:
                raise UploadRejected(f"第 {number} 个附件：超过 10 MB")
            if not data.startswith(b"%PDF-"):
                raise UploadRejected(f"第 {number} 个附件：只接受 PDF 文件")
            path = store.put(f"grants/{application_id}/{uuid.uuid4().hex}.pdf", data, "application/pdf")
            written.append(path)
            name = Path(upload.filename or f"附件{number}.pdf").name
            rows.append(grant_files.add_attachment(session, application_id, path, name))
        session.flush()
    except BaseException:
        uploads.discard(store, written)
        raise
    return rows


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_keys, salt=SALT)


def file_url(settings: Settings, file: GrantFile) -> str:
    """A signed URL of the photo or attachment, valid for a few hours (public pages, the applicant, the console)."""
    return f"{settings.public_base_url.rstrip('/')}/grants/files/{_serializer(settings).dumps(file.id)}"


def file_id_of(settings: Settings, token: str) -> int | None:
    try:
        value = _serializer(settings).loads(token, max_age=URL_MAX_AGE_SECONDS)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None
