"""An application's photos and attachments: how many it may hold, and photos waiting for the worker.

A photo arrives as an upload kept under MEDIA_DIR/uploads/ and becomes a pending GrantFile with a
`grant.photo_process` outbox row in the same transaction; the worker (worker/jobs/photos.py) makes
its clean copy, and only then is it listed or served — the way a case's photos go.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import outbox
from core.errors import InvalidInput
from core.glossary import PhotoStatus
from core.models import GrantFile

# Photos and attachments of one application together, its reports' photos included.
MAX_FILES = 40


def count(session: Session, application_id: int) -> int:
    """How many files the application holds (pending and failed photos count: they were sent)."""
    query = select(func.count()).select_from(GrantFile).where(GrantFile.application_id == application_id)
    return int(session.scalar(query) or 0)


def check_room(session: Session, application_id: int, adding: int) -> None:
    """Refuse `adding` more files when the application would then hold more than MAX_FILES."""
    held = count(session, application_id)
    if held + adding > MAX_FILES:
        raise InvalidInput(f"每份申请最多 {MAX_FILES} 个文件（照片与附件），已有 {held} 个，本次 {adding} 个")


def add_photos(
    session: Session, application_id: int, uploads: Sequence[tuple[str, str]], report_id: int | None = None
) -> list[GrantFile]:
    """Pending photos for `uploads` — (path under MEDIA_DIR/uploads/, file name) — each queued for the worker."""
    check_room(session, application_id, len(uploads))
    rows = [
        GrantFile(
            application_id=application_id,
            report_id=report_id,
            kind="photo",
            status=PhotoStatus.PENDING,
            upload_path=path,
            name=name[:128],
        )
        for path, name in uploads
    ]
    session.add_all(rows)
    session.flush()
    for row in rows:
        outbox.add(session, outbox.GRANT_PHOTO_PROCESS, {"grant_file_id": row.id})
    return rows


def add_attachment(session: Session, application_id: int, path: str, name: str) -> GrantFile:
    """A PDF attachment kept as it came (ready at once; never public)."""
    row = GrantFile(
        application_id=application_id,
        kind="attachment",
        status=PhotoStatus.READY,
        path=path,
        name=name[:128],
        content_type="application/pdf",
    )
    session.add(row)
    return row
