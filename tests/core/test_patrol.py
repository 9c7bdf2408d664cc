"""Patrols: who may check in where, double scans, the local day, coverage, and the WeChat binding code."""

from __future__ import annotations

import time as clock
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from core.errors import Forbidden, InvalidInput, NotFound
from core.glossary import CoordSystem, GridLevel, Role
from core.models import CheckIn, Checkpoint, Grid
from core.services import patrol
from tests.support import factories

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def area(session):
    """The factories' grid tree plus an empty grid G3; checkpoints P1–P3 in G1, P4 in G2, P5 in X; staff."""
    grids = factories.grid_tree(session)
    c = grids["C"]
    grids["G3"] = Grid(code="G3", name="网格G3", level=GridLevel.GRID, parent=c, path=c.path + "G3/")
    session.add(grids["G3"])
    points = {}
    for n, grid in [(1, "G1"), (2, "G1"), (3, "G1"), (4, "G2"), (5, "X")]:
        points[f"P{n}"] = Checkpoint(label=f"CP{n}", name=f"巡查点{n}", grid=grids[grid], lat=31.8 + n, lng=117.3)
    session.add_all(points.values())
    people = {
        "center": factories.staff(session, "center", Role.DISTRICT_CENTER),
        "street": factories.staff(session, "street", Role.STREET_CENTER, "S"),
        "other-street": factories.staff(session, "other-street", Role.STREET_CENTER, "S2"),
        "station": factories.staff(session, "station", Role.COMMUNITY_STATION, "C"),
        "leader": factories.staff(session, "leader", Role.GRID_LEADER, "G1"),
        "worker": factories.staff(session, "worker", Role.GRID_WORKER, "G1"),
        "worker2": factories.staff(session, "worker2", Role.GRID_WORKER, "G2"),
        "dept": factories.staff(session, "dept", Role.DEPARTMENT, unit_code="CG"),
        "dept-g1": factories.staff(session, "dept-g1", Role.DEPARTMENT, "G1", unit_code="SJ"),
        "committee": factories.staff(session, "committee", Role.COMMITTEE),
    }
    session.flush()
    return grids, points, people


@contextmanager
def statements(session):
    """Collects the SQL statements the session's engine runs inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count_check_ins(session) -> int:
    return session.scalar(select(func.count()).select_from(CheckIn))


# --- who may check in where -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("center", True),
        ("street", True),
        ("station", True),
        ("leader", True),
        ("worker", True),
        ("dept-g1", True),
        ("worker2", False),  # the next grid over
        ("other-street", False),
        ("dept", False),  # a department unit without a grid has no area
        ("committee", False),
    ],
)
def test_only_staff_whose_area_contains_the_checkpoint_check_in(session, area, who, allowed):
    _grids, points, people = area
    if allowed:
        check_in = patrol.record_check_in(session, people[who], points["P1"], source="api", now=T0)
        assert (check_in.staff_id, check_in.checkpoint_id, check_in.at) == (people[who].id, points["P1"].id, T0)
        assert count_check_ins(session) == 1
    else:
        with pytest.raises(Forbidden, match="「巡查点1」不在您负责的网格内"):
            patrol.record_check_in(session, people[who], points["P1"], source="api", now=T0)
        assert count_check_ins(session) == 0


def test_an_inactive_account_cannot_check_in(session, area):
    _grids, points, people = area
    people["worker"].is_active = False
    with pytest.raises(Forbidden):
        patrol.record_check_in(session, people["worker"], points["P1"], source="api", now=T0)


# --- double scans ---------------------------------------------------------------------------------


def test_a_second_scan_within_five_minutes_is_the_same_check_in(session, area):
    _grids, points, people = area
    worker, leader = people["worker"], people["leader"]
    first = patrol.record_check_in(session, worker, points["P1"], source="wechat", now=T0)
    again = patrol.record_check_in(
        session, worker, points["P1"], source="api", now=T0 + timedelta(minutes=4, seconds=59)
    )
    assert again.id == first.id and again.source == "wechat"
    assert count_check_ins(session) == 1
    # Another checkpoint, or another person, within the window: a check-in of its own.
    other_point = patrol.record_check_in(session, worker, points["P2"], source="api", now=T0 + timedelta(minutes=1))
    other_person = patrol.record_check_in(session, leader, points["P1"], source="api", now=T0 + timedelta(minutes=1))
    assert len({first.id, other_point.id, other_person.id}) == 3
    # Past the window it counts again.
    later = patrol.record_check_in(
        session, worker, points["P1"], source="api", now=T0 + timedelta(minutes=5, seconds=1)
    )
    assert later.id != first.id
    assert count_check_ins(session) == 4


def test_the_last_known_position_is_the_given_one_else_the_checkpoints(session, area):
    _grids, points, people = area
    worker = people["worker"]
    patrol.record_check_in(
        session, worker, points["P1"], source="api", lat=31.9, lng=117.4, coord_system="wgs84", now=T0
    )
    assert (worker.last_lat, worker.last_lng, worker.last_coord_system) == (31.9, 117.4, CoordSystem.WGS84)
    assert worker.last_located_at == T0
    check_in = session.scalar(select(CheckIn))
    assert (check_in.lat, check_in.lng, check_in.coord_system) == (31.9, 117.4, CoordSystem.WGS84)
    later = T0 + timedelta(hours=1)
    patrol.record_check_in(session, worker, points["P2"], source="api", now=later)
    assert (worker.last_lat, worker.last_lng, worker.last_coord_system) == (33.8, 117.3, CoordSystem.GCJ02)
    assert worker.last_located_at == later


@pytest.mark.parametrize(
    "position",
    [
        {"lat": 31.9},
        {"lat": 31.9, "lng": 117.4},  # no coordinate system
        {"lat": 31.9, "lng": 117.4, "coord_system": "bd09"},
        {"lat": 91, "lng": 117.4, "coord_system": "gcj02"},
        {"lat": "31.9", "lng": 117.4, "coord_system": "gcj02"},
        {"lat": True, "lng": 117.4, "coord_system": "gcj02"},
        {"coord_system": "gcj02"},
    ],
)
def test_a_bad_position_is_refused_and_nothing_is_stored(session, area, position):
    _grids, points, people = area
    with pytest.raises(InvalidInput):
        patrol.record_check_in(session, people["worker"], points["P1"], source="api", now=T0, **position)
    assert count_check_ins(session) == 0 and people["worker"].last_lat is None


def test_an_unknown_source_is_refused(session, area):
    _grids, points, people = area
    with pytest.raises(InvalidInput):
        patrol.record_check_in(session, people["worker"], points["P1"], source="sms", now=T0)


# --- listing check-ins ----------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_day_is_the_local_day_across_shanghai_midnight(session, area):
    _grids, points, people = area
    worker = people["worker"]
    times = {
        "late on the 20th": at("2026-11-20T15:59:00"),  # 23:59 in Shanghai, 20 Nov
        "early on the 21st": at("2026-11-20T16:01:00"),  # 00:01 in Shanghai, 21 Nov
        "late on the 21st": at("2026-11-21T15:59:59"),  # 23:59:59 in Shanghai, 21 Nov
        "early on the 22nd": at("2026-11-21T16:00:00"),  # 00:00 in Shanghai, 22 Nov
    }
    # Alternate checkpoints: one person's scans of one checkpoint minutes apart would be one check-in.
    made = {
        name: patrol.record_check_in(session, worker, points[f"P{n % 2 + 1}"], source="api", now=when)
        for n, (name, when) in enumerate(times.items())
    }
    day = patrol.check_ins(session, people["center"], day=date(2026, 11, 21), tz=SHANGHAI)
    assert [e.check_in.id for e in day] == [made["late on the 21st"].id, made["early on the 21st"].id]
    everything = patrol.check_ins(session, people["center"], tz=SHANGHAI)
    assert [e.check_in.at for e in everything] == sorted(times.values(), reverse=True)


def test_each_viewer_sees_only_their_area_and_filters_narrow_it(session, area):
    _grids, points, people = area
    for who, point in [("worker", "P1"), ("worker", "P2"), ("worker2", "P4"), ("other-street", "P5")]:
        patrol.record_check_in(session, people[who], points[point], source="api", now=T0)

    def seen(viewer, **filters):
        entries = patrol.check_ins(session, people[viewer], tz=SHANGHAI, **filters)
        return sorted((e.staff.username, e.check_in.checkpoint.label) for e in entries)

    assert seen("center") == [("other-street", "CP5"), ("worker", "CP1"), ("worker", "CP2"), ("worker2", "CP4")]
    assert seen("street") == [("worker", "CP1"), ("worker", "CP2"), ("worker2", "CP4")]
    assert seen("other-street") == [("other-street", "CP5")]
    assert seen("worker") == [("worker", "CP1"), ("worker", "CP2")]
    assert seen("street", grid_code="G2") == [("worker2", "CP4")]
    assert seen("worker", grid_code="C") == [("worker", "CP1"), ("worker", "CP2")]  # never wider than one's area
    assert seen("street", grid_code="X") == []  # another street's grid: nothing
    assert seen("center", username="worker2") == [("worker2", "CP4")]
    assert seen("other-street", username="worker") == []
    assert seen("street", day=date(2026, 11, 20)) == []
    with pytest.raises(NotFound):
        seen("street", grid_code="NOPE")
    with pytest.raises(Forbidden):
        seen("committee")
    with pytest.raises(Forbidden):
        seen("dept")


def test_check_ins_come_with_staff_and_checkpoint_in_one_query(session, area):
    _grids, points, people = area
    for n, who in enumerate(["worker", "leader", "street", "worker", "leader"]):
        patrol.record_check_in(session, people[who], points[f"P{n % 3 + 1}"], source="api", now=T0 + timedelta(hours=n))
    center = people["center"]
    session.commit()
    session.expire_all()
    center.role  # noqa: B018 - load the viewer before counting
    with statements(session) as during_call:
        entries = patrol.check_ins(session, center, tz=SHANGHAI)
    assert len(entries) == 5 and len(during_call) == 1
    with statements(session) as during_use:
        rows = [(e.staff.username, e.check_in.checkpoint.name, e.check_in.checkpoint.grid.code) for e in entries]
    assert during_use == [] and rows[0] == ("leader", "巡查点2", "G1")


# --- coverage -------------------------------------------------------------------------------------


def test_coverage_per_base_grid_for_the_local_day(session, area):
    _grids, points, people = area
    day = date(2026, 11, 21)
    for who, point, when in [
        ("worker", "P1", at("2026-11-21T01:00:00")),
        ("leader", "P1", at("2026-11-21T03:00:00")),  # the same checkpoint by someone else: still one
        ("worker", "P2", at("2026-11-20T16:30:00")),  # 00:30 on the 21st in Shanghai
        ("worker", "P3", at("2026-11-20T15:30:00")),  # 23:30 on the 20th in Shanghai: not that day
        ("other-street", "P5", at("2026-11-21T05:00:00")),
    ]:
        patrol.record_check_in(session, people[who], points[point], source="api", now=when)

    def numbers(viewer, **kw):
        return [(c.grid_code, c.visited, c.total, c.ratio) for c in patrol.coverage(session, people[viewer], **kw)]

    with statements(session) as queries:
        center = numbers("center", day=day, tz=SHANGHAI)
    assert center == [("G1", 2, 3, 2 / 3), ("G2", 0, 1, 0.0), ("G3", 0, 0, None), ("X", 1, 1, 1.0)]
    assert len(queries) <= 2
    assert numbers("street", day=day, tz=SHANGHAI) == center[:3]
    assert numbers("worker", day=day, tz=SHANGHAI) == [("G1", 2, 3, 2 / 3)]
    assert numbers("other-street", day=day, tz=SHANGHAI) == [("X", 1, 1, 1.0)]
    assert numbers("center", day=day, tz=SHANGHAI, grid_code="G2") == [("G2", 0, 1, 0.0)]
    assert numbers("street", day=day, tz=SHANGHAI, grid_code="S2") == []
    assert numbers("center", day=date(2026, 11, 20), tz=SHANGHAI)[0] == ("G1", 1, 3, 1 / 3)


# --- binding a WeChat openid ----------------------------------------------------------------------


def test_a_binding_code_binds_once(session, redis_client, area):
    worker = area[2]["worker"]
    code = patrol.issue_binding_code(redis_client, worker)
    assert len(code) == 6 and code.isdigit()
    assert 590 < redis_client.ttl(f"gongzhi:bind:code:{code}") <= 600
    assert patrol.bind_openid(session, redis_client, "oWorker", code) is worker
    assert worker.openid == "oWorker"
    assert patrol.staff_for_openid(session, "oWorker") is worker
    with pytest.raises(InvalidInput, match="绑定码无效或已过期"):
        patrol.bind_openid(session, redis_client, "oSomeoneElse", code)
    # Binding again with a new code to the same account is fine.
    assert (
        patrol.bind_openid(session, redis_client, "oWorker", patrol.issue_binding_code(redis_client, worker)) is worker
    )


def test_a_new_code_replaces_the_previous_one(session, redis_client, area):
    worker = area[2]["worker"]
    first = patrol.issue_binding_code(redis_client, worker)
    second = patrol.issue_binding_code(redis_client, worker)
    if first != second:
        with pytest.raises(InvalidInput):
            patrol.bind_openid(session, redis_client, "oWorker", first)
    assert patrol.bind_openid(session, redis_client, "oWorker", second) is worker


def test_a_binding_code_expires(session, redis_client, area):
    worker = area[2]["worker"]
    code = patrol.issue_binding_code(redis_client, worker, ttl_seconds=1)
    clock.sleep(1.2)
    with pytest.raises(InvalidInput):
        patrol.bind_openid(session, redis_client, "oWorker", code)
    assert worker.openid is None


def test_wrong_codes_are_limited_per_openid(session, redis_client, area):
    worker = area[2]["worker"]
    code = patrol.issue_binding_code(redis_client, worker)
    wrong = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555", "abc", "1234567") if c != code]
    for guess in wrong[: patrol.MAX_BINDING_ATTEMPTS]:
        with pytest.raises(InvalidInput):
            patrol.bind_openid(session, redis_client, "oGuesser", guess)
    with pytest.raises(Forbidden, match="错误次数过多"):
        patrol.bind_openid(session, redis_client, "oGuesser", code)  # even the right code, for a while
    assert worker.openid is None
    assert patrol.bind_openid(session, redis_client, "oWorker", code) is worker  # the code was not used up


def test_an_openid_bound_to_another_account_is_refused(session, redis_client, area):
    people = area[2]
    worker, leader = people["worker"], people["leader"]
    patrol.bind_openid(session, redis_client, "oPhone", patrol.issue_binding_code(redis_client, worker))
    with pytest.raises(Forbidden, match="已绑定其他工作账号"):
        patrol.bind_openid(session, redis_client, "oPhone", patrol.issue_binding_code(redis_client, leader))
    assert leader.openid is None and worker.openid == "oPhone"
    # The worker's new phone takes over their own binding.
    patrol.bind_openid(session, redis_client, "oNewPhone", patrol.issue_binding_code(redis_client, worker))
    assert worker.openid == "oNewPhone" and patrol.staff_for_openid(session, "oPhone") is None


def test_an_inactive_account_is_not_found_by_openid(session, redis_client, area):
    worker = area[2]["worker"]
    patrol.bind_openid(session, redis_client, "oWorker", patrol.issue_binding_code(redis_client, worker))
    worker.is_active = False
    session.flush()
    assert patrol.staff_for_openid(session, "oWorker") is None
    assert patrol.staff_for_openid(session, None) is None


def test_a_new_code_never_cancels_someone_elses(session, redis_client, area):
    people = area[2]
    worker, leader = people["worker"], people["leader"]
    first = patrol.issue_binding_code(redis_client, worker)
    patrol.bind_openid(session, redis_client, "oWorker", first)
    # The used code comes round again, this time for the leader (forced here; by chance in life).
    redis_client.set(f"gongzhi:bind:code:{first}", leader.id, ex=600)
    patrol.issue_binding_code(redis_client, worker)
    assert patrol.bind_openid(session, redis_client, "oLeader", first) is leader
