"""Uploads kept as they came under uploads/ in the store until the worker has processed them, and which of
them rows still refer to (a case's Photo, a grant's GrantFile); the sweep deletes the others."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Attachment, GrantFile, Photo

UPLOAD_DIR = "uploads"
# An upload no row refers to is deleted once this old: a request writing it has long finished or failed.
ORPHAN_AGE_SECONDS = 3600
_BATCH = 500


def referenced(session: Session, paths: Iterable[str]) -> set[str]:
    """Those of `paths` (keys in the store) that a photo of a case or of a grant still refers to."""
    wanted = sorted(set(paths))
    found: set[str] = set()
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start : start + _BATCH]
        found.update(p for p in session.scalars(select(Photo.upload_path).where(Photo.upload_path.in_(batch))) if p)
        found.update(
            p for p in session.scalars(select(GrantFile.upload_path).where(GrantFile.upload_path.in_(batch))) if p
        )
    return found


def all_referenced(session: Session) -> set[str]:
    """Every key (path relative to the store) a row refers to: photos, thumbnails, uploads, voice and video,
    grant photos and attachments. The storage migration checks that each of them arrived."""
    columns = (Photo.path, Photo.thumb_path, Photo.upload_path, Attachment.path, GrantFile.path, GrantFile.upload_path)
    found: set[str] = set()
    for column in columns:
        found.update(p for p in session.scalars(select(column).where(column.is_not(None))) if p)
    return found
