"""Case numbers: GZ, the date in the district's time zone, a dash, that day's six-digit sequence."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.models import CaseNumberCounter
from core.models.base import utcnow

PREFIX = "GZ"


def format_number(day: date, sequence: int) -> str:
    return f"{PREFIX}{day:%Y%m%d}-{sequence:06d}"


def next_case_number(session: Session, tz: ZoneInfo, now: datetime | None = None) -> str:
    """Take the next number of today; concurrent intakes queue on the day's counter row."""
    day = (now or utcnow()).astimezone(tz).date()
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(CaseNumberCounter)
            .values(day=day, last=1)
            .on_conflict_do_update(
                index_elements=[CaseNumberCounter.day], set_={"last": CaseNumberCounter.last + 1}
            )
            .returning(CaseNumberCounter.last)
        )
        sequence = session.execute(statement).scalar_one()
    else:  # pragma: no cover - other databases take the portable, slower path
        updated = session.execute(
            update(CaseNumberCounter)
            .where(CaseNumberCounter.day == day)
            .values(last=CaseNumberCounter.last + 1)
            .returning(CaseNumberCounter.last)
        ).scalar_one_or_none()
        if updated is None:
            session.add(CaseNumberCounter(day=day, last=1))
            session.flush()
            updated = 1
        sequence = updated
    return format_number(day, sequence)
