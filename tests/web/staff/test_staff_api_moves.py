"""The staff API beyond the basic loop: after-photos, the nearest on-duty worker, positions, and lock-out."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.models import Case, CaseEvent, OutboxMessage, Photo, StaffUser
from core.models.base import utcnow
from tests.support import factories
from tests.support.images import photo_with_exif
from tests.support.staff import setup_area, token
from tests.support.storage import keys


def _dispatched(app, client) -> tuple[str, dict[str, str]]:
    number = setup_area(app)
    center = token(client, "center")
    url = f"/api/v1/staff/cases/{number}/actions"
    assert client.post(url, json={"action": "accept"}, headers=center).status_code == 200
    sent = client.post(url, json={"action": "dispatch", "assignee": "worker", "tier": "community"}, headers=center)
    assert sent.status_code == 200
    return number, token(client, "worker")


def _uploads(settings) -> list[str]:
    return keys(settings, "uploads/")


@pytest.mark.each_store
def test_handling_with_after_photos_keeps_them_apart_from_the_residents(app, client, settings):
    number, worker = _dispatched(app, client)
    form = {
        "action": "handle",
        "note": "已更换灯泡",
        "photos": [
            (io.BytesIO(photo_with_exif(800, 600)), "after1.jpg"),
            (io.BytesIO(photo_with_exif(600, 800)), "b.jpg"),
        ],
    }
    answer = client.post(
        f"/api/v1/staff/cases/{number}/actions", data=form, headers=worker, content_type="multipart/form-data"
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()["case"]
    assert body["status"] == "handled"
    assert [p["stage"] for p in body["photos"]] == ["after", "after"]
    assert body["minutes_to_handle"] is not None
    with app.extensions["gongzhi"].database.session() as s:
        event = s.scalar(select(CaseEvent).where(CaseEvent.action == "handle"))
        photos = s.scalars(select(Photo)).all()
        assert {p.event_id for p in photos} == {event.id} and len(photos) == 2
        fetches = [m.payload["photo_id"] for m in s.scalars(select(OutboxMessage)) if m.topic == "photo.fetch"]
        assert sorted(fetches) == sorted(p.id for p in photos)
    assert len(_uploads(settings)) == 2


def test_a_broken_photo_or_a_refused_move_keeps_no_photo_and_moves_nothing(app, client, settings):
    number, worker = _dispatched(app, client)
    url = f"/api/v1/staff/cases/{number}/actions"
    broken = client.post(
        url,
        data={"action": "handle", "note": "好了", "photos": [(io.BytesIO(b"GIF89a not really"), "x.gif")]},
        headers=worker,
        content_type="multipart/form-data",
    )
    assert broken.status_code == 400 and "第 1 张照片" in broken.get_json()["error"]["message"]
    # A photo on a move that is not the assignee's: refused, and the saved file goes again.
    center = token(client, "center")
    refused = client.post(
        url,
        data={"action": "handle", "note": "好了", "photos": [(io.BytesIO(photo_with_exif(400, 300)), "a.jpg")]},
        headers=center,
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403
    assert _uploads(settings) == []
    with app.extensions["gongzhi"].database.session() as s:
        assert s.scalar(select(Case)).status.value == "dispatched"
        assert s.scalar(select(Photo)) is None


def test_the_dispatcher_is_offered_the_nearest_on_duty_worker(app, client):
    number = setup_area(app)
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        factories.staff(s, "far", factories.Role.GRID_WORKER, "G2")
        factories.staff(s, "stale", factories.Role.GRID_WORKER, "G2")
        factories.staff(s, "resting", factories.Role.GRID_WORKER, "G2")
        s.commit()
    # The case is at 31.8, 117.3 (GCJ-02). "worker" reports from ~110 m away in WGS-84 terms of the same spot.
    reports = {"worker": (31.8010, 117.3000, True), "far": (31.8100, 117.3000, True), "resting": (31.8, 117.3, False)}
    for who, (lat, lng, on_duty) in reports.items():
        answer = client.post(
            "/api/v1/staff/position",
            json={"lat": lat, "lng": lng, "coord_system": "gcj02", "on_duty": on_duty},
            headers=token(client, who),
        )
        assert answer.status_code == 200 and answer.get_json()["on_duty"] is on_duty
    with context.database.session() as s:
        stale = s.scalar(select(StaffUser).where(StaffUser.username == "stale"))
        stale.on_duty, stale.last_lat, stale.last_lng = True, 31.8, 117.3
        stale.last_coord_system = factories.CoordSystem.GCJ02
        stale.last_located_at = utcnow() - timedelta(hours=3)
        s.commit()
    found = client.get(f"/api/v1/staff/cases/{number}/suggestions", headers=token(client, "leader")).get_json()
    names = [(s["username"], s["distance_m"]) for s in found["suggestions"]]
    assert [n for n, _ in names] == ["worker", "far"]  # off duty and stale positions are left out
    assert 100 <= names[0][1] <= 125 and 1100 <= names[1][1] <= 1125
    other = client.get(f"/api/v1/staff/cases/{number}/suggestions", headers=token(client, "other-street"))
    assert other.status_code == 404


def test_a_position_must_be_a_real_one(app, client):
    setup_area(app)
    worker = token(client, "worker")
    for body in ({}, {"lat": 91, "lng": 117, "coord_system": "gcj02"}, {"lat": 31.8, "lng": 117.3}, {"lat": "x"}):
        assert client.post("/api/v1/staff/position", json=body, headers=worker).status_code == 400
    bad_duty = {"lat": 31.8, "lng": 117.3, "coord_system": "gcj02", "on_duty": "yes"}
    assert client.post("/api/v1/staff/position", json=bad_duty, headers=worker).status_code == 400


def test_a_bound_staff_members_wechat_location_is_their_position(app, client, wechat):
    setup_area(app)
    with app.extensions["gongzhi"].database.session() as s:
        worker = s.scalar(select(StaffUser).where(StaffUser.username == "worker"))
        # Only on duty: off duty a staff member's position is not kept (tests/hostile/test_staff_positions.py).
        worker.openid, worker.on_duty = "oStaff_worker_01", True
        s.commit()
    assert (
        wechat.event("oStaff_worker_01", "LOCATION", Latitude=31.805, Longitude=117.305, Precision=20).status_code
        == 200
    )
    with app.extensions["gongzhi"].database.session() as s:
        worker = s.scalar(select(StaffUser).where(StaffUser.username == "worker"))
        assert (worker.last_lat, worker.last_lng, worker.last_coord_system.value) == (31.805, 117.305, "gcj02")


def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(make_app, settings):
    app = make_app(settings.replace(login_lock_seconds=1))
    client = app.test_client()
    setup_area(app)
    for _ in range(settings.login_max_failures):
        wrong = client.post("/api/v1/staff/token", json={"username": "worker", "password": "guess-guess"})
        assert wrong.status_code == 401
    locked = client.post("/api/v1/staff/token", json={"username": "worker", "password": factories.PASSWORD})
    assert locked.status_code == 401 and locked.get_json() == wrong.get_json()
    # Another account is not affected, and the lock ends on its own.
    assert (
        client.post("/api/v1/staff/token", json={"username": "leader", "password": factories.PASSWORD}).status_code
        == 200
    )
    time.sleep(1.2)
    assert (
        client.post("/api/v1/staff/token", json={"username": "worker", "password": factories.PASSWORD}).status_code
        == 200
    )
