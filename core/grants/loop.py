"""The life of a micro-grant application: which status may follow which, and the one function that moves it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import outbox
from core.errors import ForbiddenTransition
from core.grants.terms import GrantStatus
from core.models import GrantApplication, GrantEvent, Resident, StaffUser
from core.models.base import utcnow

S = GrantStatus

# Withdrawal is open at any point before approval; after it the grant runs its course.
_BEFORE_APPROVAL = (S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.INFO_REQUESTED, S.RESUBMITTED)

ALLOWED: dict[GrantStatus, frozenset[GrantStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.IN_REVIEW, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.INFO_REQUESTED, S.APPROVED, S.DECLINED, S.WITHDRAWN}),
    S.INFO_REQUESTED: frozenset({S.RESUBMITTED, S.WITHDRAWN}),
    # A resubmission goes back to review, or is asked again, or is decided at once.
    S.RESUBMITTED: frozenset({S.IN_REVIEW, S.INFO_REQUESTED, S.APPROVED, S.DECLINED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.IN_PROGRESS}),
    S.DECLINED: frozenset(),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.WITHDRAWN: frozenset(),
}
assert all(S.WITHDRAWN in ALLOWED[status] for status in _BEFORE_APPROVAL)

# Statuses in which the applicant may change the application's content.
EDITABLE = frozenset({S.DRAFT, S.INFO_REQUESTED})
# Statuses the committee reviews (and residents may support).
UNDER_REVIEW = frozenset({S.SUBMITTED, S.IN_REVIEW, S.INFO_REQUESTED, S.RESUBMITTED})
# A grant: approved and after.
FUNDED = frozenset({S.APPROVED, S.IN_PROGRESS, S.COMPLETED})


def can_move(from_status: GrantStatus, to_status: GrantStatus) -> bool:
    return to_status in ALLOWED[from_status]


def transition(
    session: Session,
    application: GrantApplication,
    to_status: GrantStatus,
    *,
    action: str,
    staff: StaffUser | None = None,
    resident: Resident | None = None,
    note: str = "",
) -> GrantEvent:
    """Move `application` to `to_status`: the only code that changes an application's status.

    Appends a GrantEvent and a `grant.status_changed` outbox row (the applicant is told) in the
    caller's transaction. A move the table does not allow raises ForbiddenTransition and changes
    nothing.
    """
    from_status = application.status
    if not can_move(from_status, to_status):
        raise ForbiddenTransition(
            f"申请「{application.title}」当前状态为「{from_status.label}」，不能变为「{to_status.label}」"
        )
    now = utcnow()
    application.status = to_status
    if to_status in (S.SUBMITTED, S.RESUBMITTED):
        application.submitted_at = now
    event = GrantEvent(
        application=application,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_staff_id=staff.id if staff else None,
        actor_resident_id=resident.id if resident else None,
        note=note,
        created_at=now,
    )
    session.add(event)
    session.flush()
    outbox.add(session, outbox.GRANT_STATUS_CHANGED, {"grant_event_id": event.id})
    return event
