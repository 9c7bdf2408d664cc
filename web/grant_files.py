"""Grant photos (cleaned on upload, no EXIF) and PDF attachments: kept under MEDIA_DIR, served signed."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from core.models import GrantFile
from core.settings import Settings
from media import store
from media.imaging import MAX_UPLOAD_BYTES, ImageRejected, process_photo
from web.uploads import UploadRejected

SALT = "gongzhi.grant-file"
URL_MAX_AGE_SECONDS = 6 * 3600


def save_photos(
    session: Session,
    settings: Settings,
    application_id: int,
    files: Iterable[FileStorage],
    report_id: int | None = None,
) -> list[GrantFile]:
    """Check and clean each photo, store it, and add its GrantFile row; all or nothing on disk.

    Cleaning happens here, not in the worker, because a grant's photos have no later step to wait
    for: the stored file is already rebuilt from pixels, so nothing of the original's metadata is kept.
    """
    written: list[str] = []
    rows: list[GrantFile] = []
    try:
        for number, upload in enumerate(files, start=1):
            data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES:
                raise UploadRejected(f"第 {number} 张照片：超过 10 MB")
            try:
                clean = process_photo(data)
            except ImageRejected as exc:
                raise UploadRejected(f"第 {number} 张照片：{exc}") from exc
            path = store.save(settings.media_dir, f"grants/{application_id}/{uuid.uuid4().hex}.jpg", clean.jpeg)
            written.append(path)
            rows.append(
                GrantFile(
                    application_id=application_id,
                    report_id=report_id,
                    kind="photo",
                    path=path,
                    name=(upload.filename or "")[:128],
                )
            )
    except BaseException:
        for path in written:
            Path(settings.media_dir, path).unlink(missing_ok=True)
        raise
    session.add_all(rows)
    session.flush()
    return rows


def save_attachments(
    session: Session, settings: Settings, application_id: int, files: Iterable[FileStorage]
) -> list[GrantFile]:
    """Keep PDF attachments (plans, quotes) as they came; all or nothing on disk.

    Only PDF is taken: it is what plans and quotations are sent as, and a browser shows it without
    running anything of ours. Attachments are never on the public page.
    """
    written: list[str] = []
    rows: list[GrantFile] = []
    try:
        for number, upload in enumerate(files, start=1):
            data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES:
                raise UploadRejected(f"第 {number} 个附件：超过 10 MB")
            if not data.startswith(b"%PDF-"):
                raise UploadRejected(f"第 {number} 个附件：只接受 PDF 文件")
            path = store.save(settings.media_dir, f"grants/{application_id}/{uuid.uuid4().hex}.pdf", data)
            written.append(path)
            name = Path(upload.filename or f"附件{number}.pdf").name[:128]
            rows.append(
                GrantFile(
                    application_id=application_id,
                    kind="attachment",
                    path=path,
                    name=name,
                    content_type="application/pdf",
                )
            )
    except BaseException:
        for path in written:
            Path(settings.media_dir, path).unlink(missing_ok=True)
        raise
    session.add_all(rows)
    session.flush()
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
