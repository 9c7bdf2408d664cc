"""What each resident was told and agreed to: the privacy notice's version and the separate consents (PIPL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, utcnow


class PrivacyConsent(Base):
    """One agreement of a resident: the notice version read and the sensitive uses allowed; rows are history.

    Only the resident's latest row counts (a later one with fewer scopes withdraws the others);
    earlier rows stay as the record of what was agreed when (PIPL art. 29, 15).
    """

    __tablename__ = "privacy_consents"
    __table_args__ = (Index("ix_privacy_consents_resident_latest", "resident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(32))
    # Separate consents beside the notice: location, photo_location, phone, platform_sharing.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Where it was given: miniprogram, wechat (the chat) or scan (the sign page).
    channel: Mapped[str] = mapped_column(String(16))
    agreed_at: Mapped[datetime] = mapped_column(default=utcnow)
