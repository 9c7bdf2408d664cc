"""Where a case is, as someone who does not need the exact spot sees it: a checkpoint, or about 100 m.

Three decimals of a degree are 111 m of latitude and, at China's latitudes (20°–50° N), 71–104 m of
longitude: enough to find the street and the problem, too coarse to find the door of the resident
who reported it. A case reported at a checkpoint is shown at the checkpoint's own (public) point.
"""

from __future__ import annotations

from core.geo import Point
from core.glossary import CoordSystem
from core.models import Case

PUBLIC_DECIMALS = 3


def rounded(point: Point, decimals: int = PUBLIC_DECIMALS) -> Point:
    """`point` rounded to `decimals` decimals of a degree (3: about 100 m), in its own system."""
    return Point(round(point.lat, decimals), round(point.lng, decimals), point.system)


def public_point(case: Case, system: CoordSystem | None = None) -> Point | None:
    """The case's position for the public: its checkpoint's point, else its own rounded to ~100 m.

    Converted to `system` (when given) before rounding, so the rounding is what the reader sees.
    """
    if case.checkpoint is not None:
        point = Point(case.checkpoint.lat, case.checkpoint.lng, case.checkpoint.coord_system)
        return point.to(system) if system else point
    if case.lat is None or case.lng is None:
        return None
    point = Point(case.lat, case.lng, case.coord_system or CoordSystem.GCJ02)
    return rounded(point.to(system) if system else point)


def public_place(case: Case) -> str | None:
    """The case's place for the public: the checkpoint's name, else its grid's; never the resident's label."""
    if case.checkpoint is not None:
        return case.checkpoint.name
    return case.grid.name if case.grid is not None else None
