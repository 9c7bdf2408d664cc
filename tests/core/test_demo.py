"""The demo district: its shape, its idempotence, and that its accounts can sign in."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from core.glossary import CoordSystem, GridLevel
from core.models import Category, Checkpoint, Grid, StaffUser
from core.services.demo import load_demo
from core.services.staff import authenticate

pytestmark = pytest.mark.slow  # loads the whole demo district for each test


def _counts(session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in (Grid, Checkpoint, StaffUser, Category)
    }


def _inside(lng: float, lat: float, polygon: dict) -> bool:
    """Ray casting on the exterior ring (enough for the demo's simple polygons)."""
    assert polygon["type"] == "Polygon"
    ring = polygon["coordinates"][0]
    inside = False
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lng < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairwise(ring)) / 2


@pytest.fixture
def loaded(session, settings):
    summary = load_demo(session, settings)
    session.commit()
    return summary


def test_counts_by_level(session, loaded):
    levels = Counter(session.scalars(select(Grid.level)))
    assert levels[GridLevel.DISTRICT] == 1
    assert levels[GridLevel.STREET] == 2
    assert levels[GridLevel.COMMUNITY] == 4
    assert levels[GridLevel.GRID] >= 12
    assert session.scalar(select(func.count()).select_from(Checkpoint)) >= 30
    assert session.scalar(select(func.count()).select_from(Category)) > 0
    assert loaded.categories_added > 0
    assert loaded.grids == loaded.grids_added == sum(levels.values())
    assert loaded.checkpoints == loaded.checkpoints_added >= 30
    assert loaded.staff == loaded.staff_added == len(loaded.accounts)


def test_loading_twice_adds_nothing(session, settings, loaded):
    before = _counts(session)
    again = load_demo(session, settings)
    session.commit()
    assert _counts(session) == before
    added = (again.grids_added, again.checkpoints_added, again.staff_added, again.categories_added)
    assert added == (0, 0, 0, 0)
    assert again.accounts == loaded.accounts


def test_every_role_is_present_and_scoped(session, loaded):
    staff = session.scalars(select(StaffUser)).all()
    roles = Counter(s.role.value for s in staff)
    assert roles["district_center"] == 1
    assert roles["street_center"] == 2
    assert roles["community_station"] == 4
    assert roles["grid_leader"] == 4
    assert roles["grid_worker"] == session.scalar(select(func.count()).where(Grid.level == GridLevel.GRID))
    assert roles["committee"] == 1
    assert {s.unit_code for s in staff if s.role.value == "department"} == {"CG", "SJ", "PCS", "JJ"}
    for s in staff:
        if s.role.value in ("street_center", "community_station", "grid_leader", "grid_worker"):
            assert s.grid is not None, s.username
        assert s.display_name != s.username


def test_paths_and_codes(session, loaded):
    grids = session.scalars(select(Grid)).all()
    for grid in grids:
        assert len(grid.code) <= 32
        assert grid.path.endswith(f"/{grid.code}/")
        if grid.parent is None:
            assert grid.path == f"/{grid.code}/"
        else:
            assert grid.path.startswith(grid.parent.path)
            assert grid.path == f"{grid.parent.path}{grid.code}/"


def test_boundaries_are_closed_ccw_polygons_that_tile_their_parent(session, loaded):
    grids = session.scalars(select(Grid)).all()
    areas = {}
    for grid in grids:
        assert grid.coord_system == CoordSystem.GCJ02
        assert grid.boundary["type"] == "Polygon"
        ring = grid.boundary["coordinates"][0]
        assert ring[0] == ring[-1]
        lng, lat = ring[0]
        assert 117.0 < lng < 117.6 and 31.6 < lat < 32.0  # lng first, near Hefei
        areas[grid.id] = _signed_area(ring)
        assert areas[grid.id] > 0  # counter-clockwise
    for grid in grids:
        children = [g for g in grids if g.parent_id == grid.id]
        if children:
            assert sum(areas[c.id] for c in children) == pytest.approx(areas[grid.id], rel=1e-9)


def test_each_checkpoint_lies_in_its_own_grid_only(session, loaded):
    grids = session.scalars(select(Grid).where(Grid.level == GridLevel.GRID)).all()
    checkpoints = session.scalars(select(Checkpoint)).all()
    assert len({c.label for c in checkpoints}) == len(checkpoints)
    for cp in checkpoints:
        assert cp.coord_system == CoordSystem.GCJ02
        containing = [g.code for g in grids if _inside(cp.lng, cp.lat, g.boundary)]
        assert containing == [cp.grid.code], cp.label
        # And within every area above its grid.
        assert all(_inside(cp.lng, cp.lat, g.boundary) for g in cp.grid.lineage())


def test_a_point_in_the_district_falls_in_exactly_one_grid(session, loaded):
    district = session.scalar(select(Grid).where(Grid.level == GridLevel.DISTRICT))
    grids = session.scalars(select(Grid).where(Grid.level == GridLevel.GRID)).all()
    xs = [p[0] for p in district.boundary["coordinates"][0]]
    ys = [p[1] for p in district.boundary["coordinates"][0]]
    for i in range(1, 20):
        for j in range(1, 20):
            lng = min(xs) + (max(xs) - min(xs)) * (i + 0.37) / 20
            lat = min(ys) + (max(ys) - min(ys)) * (j + 0.41) / 20
            assert sum(_inside(lng, lat, g.boundary) for g in grids) == 1, (lng, lat)


def test_each_demo_account_can_sign_in(session, loaded):
    assert loaded.accounts
    for account in loaded.accounts:
        staff = authenticate(session, account.username, account.password)
        assert staff is not None, account.username
        assert staff.role.label == account.role
        assert (staff.grid.name if staff.grid else "全区") == account.grid
        assert authenticate(session, account.username, account.password + "x") is None


def test_describe_lists_counts_and_every_account(loaded):
    text = loaded.describe()
    assert f"巡查点 {loaded.checkpoints} 个" in text
    for account in loaded.accounts:
        assert "\t".join(account) in text
