"""Small builders for test data: a grid tree, staff, residents and cases in a given status."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import case_loop
from core.glossary import CaseSource, CaseStatus, CoordSystem, GridLevel, Role, Tier
from core.models import Case, Category, Checkpoint, Grid, Resident
from core.numbering import next_case_number
from core.services import cases
from core.services.staff import create_staff
from core.settings import Settings

PASSWORD = "correct-horse-9"


def grid_tree(session: Session) -> dict[str, Grid]:
    """A district D with street S, community C and grids G1, G2; plus grid X in another street."""
    made: dict[str, Grid] = {}
    for code, level, parent in [
        ("D", GridLevel.DISTRICT, None),
        ("S", GridLevel.STREET, "D"),
        ("C", GridLevel.COMMUNITY, "S"),
        ("G1", GridLevel.GRID, "C"),
        ("G2", GridLevel.GRID, "C"),
        ("S2", GridLevel.STREET, "D"),
        ("X", GridLevel.GRID, "S2"),
    ]:
        parent_grid = made.get(parent) if parent else None
        grid = Grid(
            code=code,
            name=f"网格{code}",
            level=level,
            parent=parent_grid,
            path=(parent_grid.path if parent_grid else "/") + f"{code}/",
        )
        session.add(grid)
        made[code] = grid
    session.flush()
    return made


def staff(session: Session, username: str, role: Role, grid: str | None = None, **kw):
    return create_staff(session, username=username, password=PASSWORD, role=role, grid_code=grid, **kw)


def resident(session: Session, openid: str = "oResident_f_0001") -> Resident:
    person = Resident(openid=openid, is_follower=True)
    session.add(person)
    session.flush()
    return person


def case(
    session: Session,
    settings: Settings,
    *,
    grid: Grid | None = None,
    reporter: Resident | None = None,
    status: CaseStatus = CaseStatus.REPORTED,
) -> Case:
    """A case placed directly in `status` (tests of the loop itself use the loop to get there)."""
    item = Case(
        number=next_case_number(session, settings.tz),
        source=CaseSource.WECHAT,
        description="路灯不亮",
        grid=grid,
        reporter=reporter,
        status=status,
        lat=31.8,
        lng=117.3,
        coord_system=CoordSystem.GCJ02,
    )
    if reporter is not None:
        item.followers.append(reporter)
    session.add(item)
    if status == CaseStatus.REPORTED:
        case_loop.record_report(session, item, resident=reporter)
    session.flush()
    return item


# G1's boundary in GCJ-02: lng 117.30–117.31, lat 31.80–31.81.
G1_BOX = {
    "type": "Polygon",
    "coordinates": [[[117.30, 31.80], [117.31, 31.80], [117.31, 31.81], [117.30, 31.81], [117.30, 31.80]]],
}


def gate_checkpoint(session: Session, *, lat: float = 31.8, lng: float = 117.3, key_version: int = 1):
    """A district D with one base grid G1 and its checkpoint CP0001 「小区东门」; committed."""
    district = Grid(code="D", name="共治示范区", level=GridLevel.DISTRICT, path="/D/")
    grid = Grid(code="G1", name="方兴社区第一网格", level=GridLevel.GRID, parent=district, path="/D/G1/")
    point = Checkpoint(label="CP0001", name="小区东门", grid=grid, lat=lat, lng=lng, key_version=key_version)
    session.add_all([district, grid, point])
    session.commit()
    return point


def dispatched_case(session, settings, hours=10):
    """A case in grid G1 dispatched by the grid leader to worker wang, under a category with `hours`."""
    grids = grid_tree(session)
    leader = staff(session, "li", Role.GRID_LEADER, "G1")
    staff(session, "wang", Role.GRID_WORKER, "G1")
    category = Category(code="T01", name="路灯", time_limit_hours=hours, default_tier=Tier.COMMUNITY)
    session.add(category)
    made = case(session, settings, grid=grids["G1"])
    made.category = category
    case_loop.transition(session, made, CaseStatus.ACCEPTED, action="accept")
    cases.perform(session, leader, made.number, "dispatch", {"assignee": "wang"})
    session.commit()
    return made, leader
