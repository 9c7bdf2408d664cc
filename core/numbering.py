"""Case numbers: GZ, the date in the district's time zone, a dash, that day's six-digit sequence."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.db import dialect_insert
from core.models import CaseNumberCounter
from core.models.base import utcnow

PREFIX = "GZ"


def format_number(day: date, sequence: int) -> str:
    return f"{PREFIX}{day:%Y%m%d}-{sequence:06d}"


def next_case_number(session: Session, tz: ZoneInfo, now: datetime | None = None) -> str:
    """Take the next number of today; concurrent intakes queue on the day's counter row."""
    day = (now or utcnow()).astimezone(tz).date()
    statement = (
        dialect_insert(session)(CaseNumberCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=[CaseNumberCounter.day], set_={"last": CaseNumberCounter.last + 1})
        .returning(CaseNumberCounter.last)
    )
    return format_number(day, session.execute(statement).scalar_one())
