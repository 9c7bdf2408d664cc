"""Residents: found or created by their WeChat identity."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import Resident
from core.models.base import utcnow


def resident_for_openid(session: Session, openid: str) -> Resident:
    """The resident behind an official-account openid, created on first contact."""
    resident = session.scalar(select(Resident).where(Resident.openid == openid))
    if resident is None:
        try:
            with session.begin_nested():
                resident = Resident(openid=openid)
                session.add(resident)
        except IntegrityError:
            # Another request created the same resident a moment ago.
            resident = session.scalar(select(Resident).where(Resident.openid == openid))
            assert resident is not None
    resident.last_message_at = utcnow()
    return resident
