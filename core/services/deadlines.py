"""The deadline sweep: a warning at 80% of a dispatched case's time limit, overdue at 100%, once each.

The window runs from the start of the current time limit to `deadline_at`. The start is the
deadline minus the category's time limit (`deadline_at` is always set as "now + that limit", at
dispatch and at a resident's reopen); without one, `dispatched_at`. For a first dispatch the two
are the same moment; after a reopen only the former is right, since `dispatched_at` keeps the
first dispatch.

Exactly once: each stamp is set by a conditional `UPDATE … WHERE warned_at IS NULL … RETURNING
id`, and the outbox row is written only when that UPDATE returned the row. Two sweeps racing on
one case both try the UPDATE; the second waits for the first's row lock and, once it commits,
no longer matches (PostgreSQL rechecks the WHERE on the new row version). The stamps and their
outbox rows commit together, in the caller's transaction.

A case that leaves `dispatched` keeps its stamps (they are history). Escalation, reassignment and
rework keep the deadline and so the stamps; a new deadline (dispatch, reopen) clears them in the
code that sets it, so the new time limit is warned about again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.orm import Session

from core import outbox
from core.glossary import CaseStatus
from core.models import Case, Category

WARN_AT = 0.8


@dataclass
class SweepResult:
    warned: list[int] = field(default_factory=list)  # case ids
    overdue: list[int] = field(default_factory=list)


def _window_start(deadline: datetime, dispatched: datetime | None, limit_hours: int | None) -> datetime | None:
    if limit_hours:
        return deadline - timedelta(hours=limit_hours)
    return dispatched


def _stamp(session: Session, case_id: int, deadline: datetime, column: str, now: datetime) -> bool:
    """Set `column` (and, for overdue, a missing warning stamp) if still unset; whether this call did."""
    target = getattr(Case, column)
    values: dict[str, object] = {column: now, "updated_at": Case.updated_at}  # a stamp is not an edit
    if column == "overdue_at":
        values["warned_at"] = func.coalesce(Case.warned_at, literal(now, Case.__table__.c.warned_at.type))
    statement = (
        update(Case)
        .where(
            Case.id == case_id,
            Case.status == CaseStatus.DISPATCHED,
            Case.deadline_at == deadline,  # a new deadline set meanwhile is the next sweep's business
            target.is_(None),
        )
        .values(values)
        .returning(Case.id)
        # The session's copy of the case, if it has one, sees the stamp too.
        .execution_options(synchronize_session="fetch")
    )
    return session.execute(statement).first() is not None


def sweep(session: Session, now: datetime) -> SweepResult:
    """Stamp and announce the warnings and overdues due at `now`, in the caller's transaction."""
    result = SweepResult()
    # One query: the dispatched cases with a deadline and a stamp still unset (ix_cases_status_grid
    # leads with status). Which of them are due is worked out here, the same on every database.
    candidates = session.execute(
        select(
            Case.id, Case.deadline_at, Case.dispatched_at, Case.warned_at, Case.overdue_at, Category.time_limit_hours
        )
        .outerjoin(Category, Case.category_id == Category.id)
        .where(
            Case.status == CaseStatus.DISPATCHED,
            Case.deadline_at.is_not(None),
            or_(Case.warned_at.is_(None), Case.overdue_at.is_(None)),
        )
        .order_by(Case.id)
    ).all()
    for case_id, deadline, dispatched, warned, overdue, limit_hours in candidates:
        if now >= deadline:
            if overdue is None and _stamp(session, case_id, deadline, "overdue_at", now):
                # Past the deadline the warning is moot: overdue says more. Its stamp is set too.
                outbox.add(session, outbox.CASE_OVERDUE, {"case_id": case_id, "deadline": deadline.isoformat()})
                result.overdue.append(case_id)
            continue
        start = _window_start(deadline, dispatched, limit_hours)
        if warned is not None or start is None or now < start + (deadline - start) * WARN_AT:
            continue
        if _stamp(session, case_id, deadline, "warned_at", now):
            outbox.add(session, outbox.CASE_DEADLINE_WARNING, {"case_id": case_id, "deadline": deadline.isoformat()})
            result.warned.append(case_id)
    return result
