"""A district's own governance platform: cases pushed to it, and the moves it reports back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, Timestamped
from core.models.cases import Case


class PlatformPush(Timestamped, Base):
    """One case sent to the external platform; the idempotency key makes a resend harmless."""

    __tablename__ = "platform_pushes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The platform's own id for the case, when its answer names one.
    external_id: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()


class PlatformEvent(Timestamped, Base):
    """One move the platform reported: kept by its event id, so a resent event is applied once."""

    __tablename__ = "platform_events"
    __table_args__ = (UniqueConstraint("case_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # The platform's order of moves on one case; events are applied in this order, whatever the arrival.
    sequence: Mapped[int]
    action: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, applied, refused
    error: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None]
