"""Open cases near a point: what a resident checks before reporting a problem someone already reported."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.geo import Point, degrees_around, distance_m
from core.glossary import CoordSystem
from core.models import Case, Category
from core.services.resident_cases import OPEN_STATUSES

RADIUS_M = 200.0
MAX_RESULTS = 20
# The bounding box is a little larger than the circle, so rounding never loses a case on its edge.
BOX_MARGIN_M = 5.0
# Candidates beyond `limit` taken from the database before the exact distance decides.
CANDIDATE_SLACK = 10


@dataclass(frozen=True)
class NearbyCase:
    """An open case near the asked point: where it is in the asker's system, and how far."""

    case: Case
    position: Point
    distance_m: float


def _category_ids(session: Session, code: str) -> list[int]:
    """The category `code` and, for a major category, every sub-category under it."""
    category = session.scalar(select(Category).where(Category.code == code)) if len(code) <= 16 else None
    if category is None:
        raise InvalidInput(f"问题类别 {code} 不存在")
    children = session.scalars(select(Category.id).where(Category.parent_id == category.id)).all()
    return [category.id, *children]


def nearby_open_cases(
    session: Session,
    at: Point,
    *,
    category_code: str | None = None,
    radius_m: float = RADIUS_M,
    limit: int = MAX_RESULTS,
) -> list[NearbyCase]:
    """Open cases (reported … handled) within `radius_m` of `at`, nearest first, at most `limit`.

    Cases are stored in the system they came in, so the box is drawn around `at` in each system
    (GCJ-02 is offset from WGS-84 by up to several hundred metres) and the exact distance is
    measured after converting through core.geo.
    """
    if limit <= 0:
        return []
    category_ids = _category_ids(session, category_code) if category_code else None
    found = []
    for system in CoordSystem:
        centre = at.to(system)
        dlat, dlng = degrees_around(centre.lat, radius_m + BOX_MARGIN_M)
        # The database returns only the nearest few by a flat-earth distance in the stored system:
        # a storm brings hundreds of reports of one spot, and loading every one of them for each
        # new report made intake slower with every case. Within a few hundred metres the flat
        # distance orders cases as the exact one does; the slack covers ties at the edge.
        east = (Case.lng - centre.lng) * math.cos(math.radians(centre.lat))
        north = Case.lat - centre.lat
        query = (
            select(Case)
            .where(
                Case.status.in_(OPEN_STATUSES),
                Case.coord_system == system,
                Case.lat.between(centre.lat - dlat, centre.lat + dlat),
                Case.lng.between(centre.lng - dlng, centre.lng + dlng),
            )
            .order_by(north * north + east * east, Case.id)
            .limit(limit + CANDIDATE_SLACK)
        )
        if category_ids is not None:
            query = query.where(Case.category_id.in_(category_ids))
        for case in session.scalars(query):
            assert case.lat is not None and case.lng is not None and case.coord_system is not None
            where = Point(case.lat, case.lng, case.coord_system)
            distance = distance_m(at, where)
            if distance <= radius_m:
                found.append(NearbyCase(case, where.to(at.system), distance))
    found.sort(key=lambda item: (item.distance_m, item.case.id))
    return found[:limit]
