"""The outbox of work for later, and the record of what each resident was told."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.glossary import NotificationStatus
from core.models.base import Base, Timestamped, str_enum, utcnow


class OutboxMessage(Timestamped, Base):
    """Work to do after a commit; written in the same transaction as what caused it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_pending", "relayed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    relayed_at: Mapped[datetime | None]
    relay_attempts: Mapped[int] = mapped_column(default=0)


class Notification(Timestamped, Base):
    """One message to one resident about one case event (or grant event), on one channel; recorded once."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "resident_id", "channel"),
        UniqueConstraint("grant_event_id", "resident_id", "channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one of the two is set: a case's event, or a micro-grant application's.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"), index=True)
    grant_event_id: Mapped[int | None] = mapped_column(ForeignKey("grant_events.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus, 16), default=NotificationStatus.PENDING
    )
    content: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    # Template messages: WeChat's msgid, and what its TEMPLATESENDJOBFINISH event said of delivery.
    wechat_msgid: Mapped[str | None] = mapped_column(String(32), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None]


class SubscribeConsent(Base):
    """How many one-time subscribe messages of a template a resident allowed (wx.requestSubscribeMessage)."""

    __tablename__ = "subscribe_consents"
    __table_args__ = (UniqueConstraint("resident_id", "template_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    template_id: Mapped[str] = mapped_column(String(64))
    remaining: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiKey(Timestamped, Base):
    """A key an outside client (Open311) uses to post requests; only its hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None]
