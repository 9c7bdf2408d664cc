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
    """Take the next number of today.

    On PostgreSQL the number is taken in a transaction of its own, committed at once, so the day's
    counter row is locked for one statement rather than for the whole intake: otherwise every
    report of the district would wait for the one before it to route, store and commit. The price
    is a gap in the day's numbers when an intake fails after taking one. That transaction commits
    without waiting for the disk (synchronous_commit off), which loses nothing: the case that
    carries the number commits after it, and waiting for its commit flushes the counter's too.
    """
    day = (now or utcnow()).astimezone(tz).date()
    statement = (
        dialect_insert(session)(CaseNumberCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=[CaseNumberCounter.day], set_={"last": CaseNumberCounter.last + 1})
        .returning(CaseNumberCounter.last)
    )
    engine = session.get_bind().engine
    if engine.dialect.name != "postgresql":
        # SQLite writes one transaction at a time anyway: take it in the caller's.
        return format_number(day, session.execute(statement).scalar_one())
    with engine.connect() as conn:
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        sequence = conn.execute(statement).scalar_one()
        conn.commit()
    return format_number(day, sequence)
