"""Staff whereabouts: kept only on duty, forgotten off duty; a grid worker sees only their own check-ins."""

from __future__ import annotations

import itertools
import time

from sqlalchemy import select

from core.glossary import Role
from core.models import Checkpoint, Resident, StaffUser
from core.services import patrol
from tests.support import factories
from tests.support.staff import token
from tests.support.wechat_sender import WeChatSender, build

STAFF_OPENID = "oStaffWorkerOpenid_positions"


def _staff(app, username: str) -> StaffUser:
    with app.extensions["gongzhi"].database.session() as s:
        person = s.scalar(select(StaffUser).where(StaffUser.username == username))
        s.expunge(person)
        return person


def _position(client, headers, **body):
    return client.post("/api/v1/staff/position", json=body, headers=headers)


def test_going_off_duty_forgets_the_position_and_later_ones_are_not_kept(app, client, world):
    headers = token(client, "worker")
    here = {"lat": 31.805, "lng": 117.305, "coord_system": "gcj02"}
    on = _position(client, headers, on_duty=True, **here)
    assert on.status_code == 200 and on.get_json()["on_duty"] is True and on.get_json()["located_at"]
    assert _staff(app, "worker").last_lat == 31.805

    off = _position(client, headers, on_duty=False)
    assert off.status_code == 200 and off.get_json() == {"on_duty": False, "located_at": None}
    worker = _staff(app, "worker")
    assert (worker.on_duty, worker.last_lat, worker.last_lng, worker.last_located_at) == (False, None, None, None)

    # The app keeps reporting after work: nothing is kept.
    later = _position(client, headers, **here)
    assert later.status_code == 200 and later.get_json() == {"on_duty": False, "located_at": None}
    assert _staff(app, "worker").last_lat is None


def test_a_staff_members_wechat_location_is_kept_only_on_duty(app, client, world, settings):
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        s.scalar(select(StaffUser).where(StaffUser.username == "worker")).openid = STAFF_OPENID
        s.commit()
    wechat = WeChatSender.for_settings(client, settings)

    sent = itertools.count(int(time.time()))

    def report(lat: float) -> None:
        # WeChat deduplicates events by sender and CreateTime: each report has its own second.
        body = build(
            "event",
            STAFF_OPENID,
            create_time=next(sent),
            Event="LOCATION",
            Latitude=lat,
            Longitude=117.305,
            Precision=30,
        )
        assert wechat.post(body).status_code == 200

    report(31.801)  # off duty (the default): neither as staff nor as a resident
    with database.session() as s:
        assert s.scalar(select(StaffUser).where(StaffUser.username == "worker")).last_lat is None
        resident = s.scalar(select(Resident).where(Resident.openid == STAFF_OPENID))
        assert resident is None or resident.last_lat is None

    assert (
        _position(client, token(client, "worker"), on_duty=True, lat=31.8, lng=117.3, coord_system="gcj02").status_code
        == 200
    )
    report(31.802)  # on duty: the dispatcher's nearest-worker list may use it
    assert _staff(app, "worker").last_lat == 31.802

    assert _position(client, token(client, "worker"), on_duty=False).status_code == 200
    report(31.803)
    assert _staff(app, "worker").last_lat is None


def test_a_grid_worker_sees_only_their_own_check_ins_and_a_leader_the_areas(app, client, world):
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        factories.staff(s, "neighbour-worker", Role.GRID_WORKER, "G1")
        factories.staff(s, "leader", Role.GRID_LEADER, "C")
        point = s.scalar(select(Checkpoint).where(Checkpoint.label == "CP0001"))
        for username in ("worker", "neighbour-worker"):
            person = s.scalar(select(StaffUser).where(StaffUser.username == username))
            patrol.record_check_in(s, person, point, source="api", lat=31.805, lng=117.305, coord_system="gcj02")
        s.commit()

    def seen(username: str, **query) -> list[str]:
        answer = client.get("/api/v1/staff/checkins", query_string=query, headers=token(client, username))
        assert answer.status_code == 200
        return sorted(entry["staff"]["username"] for entry in answer.get_json()["check_ins"])

    assert seen("worker") == ["worker"]
    # Asking for a colleague by name shows nothing of them.
    assert seen("worker", staff="neighbour-worker") == []
    assert seen("neighbour-worker", grid="G1") == ["neighbour-worker"]
    assert seen("leader") == ["neighbour-worker", "worker"]
    assert seen("center") == ["neighbour-worker", "worker"]
