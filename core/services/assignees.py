"""Where staff are, and who is nearest to a case: the dispatcher's suggestion for the ten-minute goal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.geo import Point, distance_m
from core.glossary import Role
from core.models import Case, Grid, StaffUser
from core.models.base import utcnow

# A position older than this says little about where someone is now.
FRESH_POSITION = timedelta(hours=2)
FIELD_ROLES = (Role.GRID_WORKER, Role.GRID_LEADER)


@dataclass(frozen=True)
class Suggestion:
    """An on-duty field worker and how far they were from the case when last located."""

    staff: StaffUser
    distance_m: float
    located_at: datetime


def record_position(staff: StaffUser, point: Point, *, on_duty: bool | None = None, at: datetime | None = None) -> None:
    """Keep `staff`'s last known position (WeChat LOCATION, a check-in, the staff API) — only while on duty.

    A staff member's whereabouts are theirs off duty: a position arriving then is dropped, and going
    off duty (`on_duty=False`) clears the one kept. Going on duty with a position keeps it.
    """
    if on_duty is not None:
        staff.on_duty = on_duty
    if not staff.on_duty:
        clear_position(staff)
        return
    staff.last_lat, staff.last_lng, staff.last_coord_system = point.lat, point.lng, point.system
    staff.last_located_at = at or utcnow()


def go_off_duty(staff: StaffUser) -> None:
    """End `staff`'s duty: no longer suggested for cases, and their last position forgotten."""
    staff.on_duty = False
    clear_position(staff)


def clear_position(staff: StaffUser) -> None:
    """Forget where `staff` was last seen."""
    staff.last_lat = staff.last_lng = None
    staff.last_coord_system = None
    staff.last_located_at = None


def suggest_assignees(
    session: Session, case: Case, *, within: Grid | None = None, limit: int = 5, now: datetime | None = None
) -> list[Suggestion]:
    """The on-duty grid workers and leaders nearest to `case`, nearest first.

    Only people located within FRESH_POSITION count, and only those working inside `within` (the
    dispatcher's area) when given. A case without a position has no nearest anyone: empty list.
    """
    if case.lat is None or case.lng is None or case.coord_system is None:
        return []
    since = (now or utcnow()) - FRESH_POSITION
    query = (
        select(StaffUser)
        .where(
            StaffUser.is_active.is_(True),
            StaffUser.on_duty.is_(True),
            StaffUser.role.in_(FIELD_ROLES),
            StaffUser.last_located_at >= since,
            StaffUser.last_lat.is_not(None),
        )
        .options(selectinload(StaffUser.grid))
    )
    if within is not None:
        query = query.where(StaffUser.grid_id.in_(within.subtree_ids()))
    at = Point(case.lat, case.lng, case.coord_system)
    found = [
        Suggestion(
            staff=person,
            distance_m=distance_m(at, Point(person.last_lat, person.last_lng, person.last_coord_system or at.system)),
            located_at=person.last_located_at,
        )
        for person in session.scalars(query)
        if person.last_lat is not None and person.last_lng is not None and person.last_located_at is not None
    ]
    return sorted(found, key=lambda s: (s.distance_m, s.staff.id))[:limit]
