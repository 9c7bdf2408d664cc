"""The access log: who read or did what with personal data, append-only and hash-chained."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.models.base import Base, utcnow


class AccessLogEntry(Base):
    """One audited action. Holds ids and kinds, never the personal data itself.

    `prev_hash` is the hash of the entry before it and `hash` covers this entry's fields and
    `prev_hash`, so an edited entry or one taken out of the middle shows (core/audit/log.py).
    Actors are kept by id and name without foreign keys: the trail outlives the accounts.
    """

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_at", "at"),
        Index("ix_access_log_actor_at", "actor_staff_id", "at"),
        Index("ix_access_log_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_staff_id: Mapped[int | None]
    actor_name: Mapped[str | None] = mapped_column(String(64))
    actor_resident_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(48))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16), default="ok")
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


@event.listens_for(Session, "before_flush")
def _access_log_is_append_only(session: Session, _context: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AccessLogEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("the access log is append-only")
