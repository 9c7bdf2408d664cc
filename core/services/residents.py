"""Residents: found or created by their WeChat identity."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.db import dialect_insert
from core.models import Resident
from core.models.base import utcnow


def resident_for_openid(session: Session, openid: str) -> Resident:
    """The resident behind an official-account openid, created on first contact.

    One upsert, which also locks the resident's row until the transaction ends: the resident's
    messages are handled one at a time, and a first message delivered twice at once makes one
    resident.
    """
    now = utcnow()
    statement = (
        dialect_insert(session)(Resident)
        .values(openid=openid, last_message_at=now)
        .on_conflict_do_update(index_elements=[Resident.openid], set_={"last_message_at": now})
        .returning(Resident)
    )
    resident: Resident = session.scalars(statement, execution_options={"populate_existing": True}).one()
    return resident
