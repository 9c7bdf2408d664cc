"""Routing on arrival: the base grid by checkpoint or by point, in either system; the note; likely repeats."""

from __future__ import annotations

import random

import pytest
import shapely
from sqlalchemy import func, select

from core.geo import Point
from core.glossary import CaseSource, CaseStatus, CoordSystem, GridLevel, Tier
from core.models import Case, CaseEvent, Checkpoint, Grid
from core.services.demo import DEMO_PASSWORD, DISTRICT_BOX, load_demo
from core.services.intake import ReportInput, submit_report
from core.services.routing import OUTSIDE_EVERY_GRID, grid_index, route_case
from tests.support.geo import shifted
from tests.support.wechat_sender import reply_text

pytestmark = pytest.mark.slow  # the demo district for each test

STREET_TIER = "0106"  # 河道水面不洁: street by default
LITTER = "0101"  # 暴露垃圾: community by default


@pytest.fixture
def base_grids(session, settings) -> list[Grid]:
    load_demo(session, settings)
    session.commit()
    return list(session.scalars(select(Grid).where(Grid.level == GridLevel.GRID).order_by(Grid.id)))


def interior_points(grid: Grid, n: int = 6, seed: int = 0) -> list[tuple[float, float]]:
    """(lat, lng) points strictly inside the grid's polygon, in its own system."""
    polygon = shapely.geometry.shape(grid.boundary)
    inner = polygon.buffer(-1e-5)  # ~1 m in from every edge
    rng = random.Random(f"{grid.code}-{seed}")
    w, s, e, n_ = inner.bounds
    points = [(p.y, p.x) for p in [inner.representative_point()]]
    while len(points) < n:
        lng, lat = rng.uniform(w, e), rng.uniform(s, n_)
        if inner.contains(shapely.Point(lng, lat)):
            points.append((lat, lng))
    return points


def report(session, settings, lat, lng, system=CoordSystem.GCJ02, category=LITTER, **kw) -> Case:
    case, created = submit_report(
        session,
        settings,
        resident=None,
        report=ReportInput(
            description="路边有垃圾", lat=lat, lng=lng, coord_system=system, category_code=category, **kw
        ),
        source=CaseSource.MINIPROGRAM,
        intake_key=None,
    )
    assert created
    return case


def test_the_demo_has_twelve_base_grids(base_grids):
    assert len(base_grids) == 12
    assert all(g.coord_system is CoordSystem.GCJ02 for g in base_grids)


def test_a_point_in_each_grid_lands_in_that_grid(session, settings, base_grids):
    for grid in base_grids:
        for lat, lng in interior_points(grid):
            case = report(session, settings, lat, lng)
            assert case.grid_id == grid.id, (grid.name, lat, lng)
            assert case.grid is grid
            assert case.routing_note is None
            # Routing is not a move of the loop: reported, with only the report on its timeline.
            assert case.status is CaseStatus.REPORTED
            assert [e.action for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))] == [
                "report"
            ]
            assert case.tier is Tier.COMMUNITY
            assert case.deadline_at is None


def test_the_same_place_in_wgs84_lands_in_the_same_grid(session, settings, base_grids):
    misplaced_if_not_converted = 0
    for grid in base_grids:
        for lat, lng in interior_points(grid, n=3, seed=1):
            wgs = Point(lat, lng, CoordSystem.GCJ02).to(CoordSystem.WGS84)
            case = report(session, settings, wgs.lat, wgs.lng, CoordSystem.WGS84)
            assert case.grid_id == grid.id, (grid.name, lat, lng)
            assert case.coord_system is CoordSystem.WGS84  # stored as it came
            naive = grid_index(session).locate(Point(wgs.lat, wgs.lng, CoordSystem.GCJ02))
            misplaced_if_not_converted += naive != grid.id
    # The offset (~500 m here) is larger than a grid is wide, so skipping the conversion would show.
    assert misplaced_if_not_converted > 0


def test_a_point_outside_every_grid_goes_to_the_district_center(session, settings, base_grids):
    west, south, _east, _north = DISTRICT_BOX
    for lat, lng in [(south - 0.001, west + 0.01), (31.9, 117.5), (39.9, 116.4)]:
        case = report(session, settings, lat, lng)
        assert case.grid_id is None and case.grid is None
        assert case.routing_note == OUTSIDE_EVERY_GRID
        assert case.status is CaseStatus.REPORTED


def test_a_case_without_a_position_gets_the_note(session, settings, base_grids):
    case = Case(number="GZ-TEST-1", source=CaseSource.STAFF, description="无位置")
    session.add(case)
    session.flush()
    result = route_case(session, case, settings)
    assert result.grid_id is None and result.via == "outside"
    assert case.routing_note == OUTSIDE_EVERY_GRID


def test_a_checkpoint_case_keeps_the_checkpoint_grid(session, settings, base_grids):
    checkpoint = session.scalar(select(Checkpoint).where(Checkpoint.grid_id == base_grids[0].id).limit(1))
    elsewhere = base_grids[-1]
    lat, lng = interior_points(elsewhere, n=1)[0]
    case = report(session, settings, lat, lng, checkpoint_label=checkpoint.label)
    assert case.lat == lat  # the point says the last grid …
    assert grid_index(session).locate(Point(lat, lng, CoordSystem.GCJ02)) == elsewhere.id
    assert case.grid_id == base_grids[0].id  # … the checkpoint decides
    assert case.routing_note is None


def test_the_category_gives_the_default_tier(session, settings, base_grids):
    lat, lng = interior_points(base_grids[3], n=1)[0]
    assert report(session, settings, lat, lng, category=STREET_TIER).tier is Tier.STREET
    assert report(session, settings, *shifted(lat, lng, north_m=200), category=None).tier is None


def test_open_cases_of_the_same_category_within_50_m_are_flagged(session, settings, base_grids):
    lat, lng = interior_points(base_grids[5], n=1)[0]
    first = report(session, settings, lat, lng)
    assert first.possible_duplicates is None

    near = report(session, settings, *shifted(lat, lng, north_m=40))
    assert near.possible_duplicates == [first.number]

    far = report(session, settings, *shifted(lat, lng, east_m=60))  # 60 m from first, 72 m from near
    assert far.possible_duplicates is None

    other_kind = report(session, settings, *shifted(lat, lng, north_m=10), category=STREET_TIER)
    assert other_kind.possible_duplicates is None

    # The same spot given in WGS-84 is still within 50 m of both.
    wgs = Point(*shifted(lat, lng, north_m=20), CoordSystem.GCJ02).to(CoordSystem.WGS84)
    both = report(session, settings, wgs.lat, wgs.lng, CoordSystem.WGS84)
    assert sorted(both.possible_duplicates) == sorted([first.number, near.number])

    # A closed case is not a duplicate; the nearest open ones come first.
    for case in (first, both):
        case.status = CaseStatus.CLOSED
    session.flush()
    again = report(session, settings, *shifted(lat, lng, north_m=30))
    assert again.possible_duplicates == [near.number]


def test_the_index_is_rebuilt_after_a_grid_is_added(session, settings, base_grids):
    west, south, _east, _north = DISTRICT_BOX
    lat, lng = south - 0.005, west + 0.005  # south of the district, in GCJ-02
    assert report(session, settings, lat, lng).grid_id is None
    before = grid_index(session)
    assert grid_index(session) is before  # nothing changed: reused, not rebuilt

    # A new base grid drawn in WGS-84 around that spot.
    wgs = Point(lat, lng, CoordSystem.GCJ02).to(CoordSystem.WGS84)
    w, s, e, n = wgs.lng - 0.002, wgs.lat - 0.002, wgs.lng + 0.002, wgs.lat + 0.002
    added = Grid(
        code="NEW1",
        name="新增网格",
        level=GridLevel.GRID,
        parent=base_grids[0].parent,
        path=base_grids[0].parent.path + "NEW1/",
        boundary={"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        coord_system=CoordSystem.WGS84,
    )
    session.add(added)
    session.commit()
    case = report(session, settings, lat, lng)
    assert case.grid_id == added.id
    assert case.routing_note is None
    assert grid_index(session) is not before
    # The old grids still route as before.
    grid = base_grids[7]
    assert report(session, settings, *interior_points(grid, n=1)[0]).grid_id == grid.id


def test_a_wechat_report_lands_in_its_grid_and_its_worker_sees_it(app, client, wechat, settings):
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        load_demo(s, settings)
        s.commit()
        target = s.scalar(select(Grid).where(Grid.code == "340111001002003"))  # street 1, community 2, grid 3
        other = s.scalar(select(Grid).where(Grid.code == "340111002001001"))
        assert target is not None and other is not None
        lat, lng = interior_points(target, n=1)[0]
        target_id = target.id

    openid = "oResident_routing"
    reply_text(wechat.location(openid, lat, lng, "某小区门口"))
    reply_text(wechat.text(openid, "小区门口有一堆垃圾没人清理"))
    reply_text(wechat.image(openid, "m-routing-1"))
    submitted = reply_text(wechat.text(openid, "提交"))
    assert submitted.startswith("提交成功！案件编号 GZ"), submitted
    number = submitted.split("案件编号 ")[1].split("。")[0]

    with context.database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.grid_id == target_id
        assert case.routing_note is None
        assert s.scalar(select(func.count()).select_from(Case)) == 1

    def queue(username: str) -> list[dict]:
        signed = client.post("/api/v1/staff/token", json={"username": username, "password": DEMO_PASSWORD})
        assert signed.status_code == 200, signed.get_json()
        headers = {"Authorization": f"Bearer {signed.get_json()['token']}"}
        response = client.get("/api/v1/staff/cases", headers=headers)
        assert response.status_code == 200
        return response.get_json()["cases"]

    mine = queue("demo-worker-1-2-3")
    assert [c["number"] for c in mine] == [number]
    assert mine[0]["grid"] == "340111001002003"
    assert mine[0]["routing_note"] is None and mine[0]["possible_duplicates"] == []
    assert queue("demo-worker-2-1-1") == []
    assert [c["number"] for c in queue("demo-district")] == [number]


def test_the_staff_api_shows_the_note_and_duplicates(app, client, settings):
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        load_demo(s, settings)
        first = report(s, settings, 31.9, 117.5)
        second = report(s, settings, *shifted(31.9, 117.5, north_m=30))
        s.commit()
        numbers = first.number, second.number
    signed = client.post("/api/v1/staff/token", json={"username": "demo-district", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {signed.get_json()['token']}"}
    shown = client.get(f"/api/v1/staff/cases/{numbers[1]}", headers=headers).get_json()
    assert shown["grid"] is None
    assert shown["routing_note"] == OUTSIDE_EVERY_GRID
    assert shown["possible_duplicates"] == [numbers[0]]
