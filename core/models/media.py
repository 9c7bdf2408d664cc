"""Photos and other attachments (voice, video) of cases: fetched or uploaded, then stored by the worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.glossary import PhotoStatus
from core.models.base import Base, Timestamped, str_enum


class Photo(Timestamped, Base):
    """One photo of a case; `path` and `thumb_path` are keys in the store (media/storage) once it is ready."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    wechat_media_id: Mapped[str | None] = mapped_column(String(128))
    # An upload kept as it came, in the store, until the worker has processed it.
    upload_path: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[PhotoStatus] = mapped_column(str_enum(PhotoStatus, 16), default=PhotoStatus.PENDING)
    path: Mapped[str | None] = mapped_column(String(256))
    thumb_path: Mapped[str | None] = mapped_column(String(256))
    width: Mapped[int | None]
    height: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]


class Attachment(Timestamped, Base):
    """A voice or video message attached to a case, stored as WeChat sent it."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # voice, video
    wechat_media_id: Mapped[str | None] = mapped_column(String(128))
    format: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[PhotoStatus] = mapped_column(str_enum(PhotoStatus, 16), default=PhotoStatus.PENDING)
    path: Mapped[str | None] = mapped_column(String(256))
    content_type: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
