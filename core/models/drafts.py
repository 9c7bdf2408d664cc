"""A resident's unfinished report, kept in the database so it survives a Redis outage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, utcnow


class ReportDraft(Base):
    """The report a resident is composing in the chat, and the replies to the messages that built it."""

    __tablename__ = "report_drafts"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Message key → the reply it got, so that WeChat's retry of a message changes nothing.
    replies: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the resident said 「注销」 and was asked to confirm; any other message clears it.
    erase_asked_at: Mapped[datetime | None]
