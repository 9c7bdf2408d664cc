"""The closed loop of DESIGN.md: which status may follow which, and the one function that moves a case."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core import outbox
from core.errors import ForbiddenTransition
from core.glossary import CaseStatus
from core.models import Case, CaseEvent, Resident, StaffUser
from core.models.base import utcnow

S = CaseStatus

ALLOWED: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.REPORTED: frozenset({S.ACCEPTED, S.REJECTED, S.DUPLICATE}),
    S.ACCEPTED: frozenset({S.DISPATCHED}),
    # dispatched → dispatched is an escalation or a reassignment.
    S.DISPATCHED: frozenset({S.HANDLED, S.DISPATCHED}),
    # handled → dispatched is rework after a failed verification.
    S.HANDLED: frozenset({S.VERIFIED, S.DISPATCHED}),
    S.VERIFIED: frozenset({S.CLOSED}),
    # closed → dispatched is the resident's "not fixed" within 7 days.
    S.CLOSED: frozenset({S.EVALUATED, S.DISPATCHED}),
    S.EVALUATED: frozenset(),
    S.REJECTED: frozenset(),
    S.DUPLICATE: frozenset(),
}

# When a case first enters a status, the moment is kept on the case for the figures; closing is
# stamped every time, since a reopened case counts (and may be reopened again) from its last close.
_STAMPS = {
    S.ACCEPTED: "accepted_at",
    S.DISPATCHED: "dispatched_at",
    S.HANDLED: "handled_at",
    S.CLOSED: "closed_at",
}
_RESTAMPED = {S.CLOSED}


def can_move(from_status: CaseStatus, to_status: CaseStatus) -> bool:
    return to_status in ALLOWED[from_status]


def record_report(
    session: Session,
    case: Case,
    *,
    resident: Resident | None = None,
    staff: StaffUser | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """The first timeline entry of a new case: it was reported, by a resident or found by staff."""
    case.status = S.REPORTED
    event = CaseEvent(
        case=case,
        action="report",
        from_status=None,
        to_status=S.REPORTED,
        actor_resident_id=resident.id if resident else None,
        actor_staff_id=staff.id if staff else None,
        note=note,
        data=data or {},
    )
    session.add(event)
    return event


def transition(
    session: Session,
    case: Case,
    to_status: CaseStatus,
    *,
    action: str,
    staff: StaffUser | None = None,
    resident: Resident | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Move `case` to `to_status`: the only code that changes a case's status.

    Appends a CaseEvent and an outbox message in the caller's transaction, so the move, its
    record and the resident's notification stand or fall together. A move the loop does not
    allow raises ForbiddenTransition and changes nothing.
    """
    from_status = case.status
    if not can_move(from_status, to_status):
        raise ForbiddenTransition(
            f"案件 {case.number} 当前状态为「{from_status.label}」，不能变为「{to_status.label}」"
        )
    now = utcnow()
    case.status = to_status
    stamp = _STAMPS.get(to_status)
    if stamp and (getattr(case, stamp) is None or to_status in _RESTAMPED):
        setattr(case, stamp, now)
    event = CaseEvent(
        case=case,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_staff_id=staff.id if staff else None,
        actor_resident_id=resident.id if resident else None,
        note=note,
        data=data or {},
        created_at=now,
    )
    session.add(event)
    session.flush()
    outbox.add(session, outbox.CASE_STATUS_CHANGED, {"event_id": event.id, "case_id": case.id})
    if to_status == S.DISPATCHED and case.assignee_id is not None:
        # Dispatch, escalation, reassignment, rework or reopen: the assignee is told (worker.jobs.deadlines).
        outbox.add(session, outbox.CASE_ASSIGNED, {"event_id": event.id, "case_id": case.id})
    if to_status == S.ACCEPTED:
        # To the district's own platform (worker.jobs.platform), which does nothing without PLATFORM_URL.
        outbox.add(session, outbox.CASE_PLATFORM_PUSH, {"event_id": event.id, "case_id": case.id})
    return event
