"""The patrol staff API: check in by code or sign URL, the check-ins, coverage, and the binding code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.codes import make_code
from core.glossary import Role
from core.models import CheckIn, Checkpoint
from core.services.checkpoints import public_code, scene_for, sign_url
from tests.support import factories


@dataclass
class Signs:
    east: str  # the public code of 东门 (grid G1)
    east_url: str
    east_scene: str
    east_old: str  # 东门's code before it was rotated
    west_url: str  # 西门 (grid G2)
    far: str  # a checkpoint in grid X of the other street


def token(client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/staff/token", json={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.fixture
def auth(client):
    """The Authorization header of a staff member, signed in once per test."""
    headers: dict[str, dict[str, str]] = {}

    def get(username: str) -> dict[str, str]:
        if username not in headers:
            headers[username] = token(client, username)
        return headers[username]

    return get


@pytest.fixture
def signs(app) -> Signs:
    context = app.extensions["gongzhi"]
    settings = context.settings
    with context.database.session() as s:
        grids = factories.grid_tree(s)
        east = Checkpoint(label="CP1", name="小区东门", grid=grids["G1"], lat=31.8, lng=117.3, key_version=2)
        west = Checkpoint(label="CP2", name="小区西门", grid=grids["G2"], lat=31.81, lng=117.3)
        far = Checkpoint(label="CP3", name="河边", grid=grids["X"], lat=31.9, lng=117.4)
        s.add_all([east, west, far])
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        factories.staff(s, "street", Role.STREET_CENTER, "S")
        factories.staff(s, "other-street", Role.STREET_CENTER, "S2")
        factories.staff(s, "worker", Role.GRID_WORKER, "G1")
        s.commit()
        return Signs(
            east=public_code(settings, east),
            east_url=sign_url(settings, east),
            east_scene=scene_for(settings, east),
            east_old=make_code(settings.secret_key, east.id, 1),
            west_url=sign_url(settings, west),
            far=public_code(settings, far),
        )


def count_check_ins(app) -> int:
    with app.extensions["gongzhi"].database.session() as s:
        return s.scalar(select(func.count()).select_from(CheckIn))


def test_check_in_by_code_or_sign_url_and_a_double_scan_is_one(app, client, auth, signs):
    worker = auth("worker")
    first = client.post("/api/v1/staff/checkins", json={"code": signs.east}, headers=worker)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["duplicate"] is False
    check_in = body["check_in"]
    assert check_in["staff"] == {"username": "worker", "name": "worker"}
    assert check_in["checkpoint"] == {"code": "CP1", "name": "小区东门", "grid": "G1"}
    assert check_in["source"] == "api" and check_in["location"] is None
    # The same sign again (as its URL, its scene) minutes later: the same check-in, not a new one.
    for code in (signs.east_url, signs.east_scene):
        again = client.post("/api/v1/staff/checkins", json={"code": code}, headers=worker)
        assert again.status_code == 200 and again.get_json()["duplicate"] is True
        assert again.get_json()["check_in"]["id"] == check_in["id"]
    assert count_check_ins(app) == 1


def test_a_position_is_stored_with_its_coordinate_system(app, client, auth, signs):
    body = {"code": signs.west_url, "lat": 31.8101, "lng": 117.3002, "coord_system": "wgs84"}
    response = client.post("/api/v1/staff/checkins", json=body, headers=auth("street"))
    assert response.status_code == 201
    assert response.get_json()["check_in"]["location"] == {"lat": 31.8101, "lng": 117.3002, "coord_system": "wgs84"}


def test_forged_is_404_replaced_is_410_and_outside_the_area_is_403(app, client, auth, signs):
    worker = auth("worker")

    def post(code):
        return client.post("/api/v1/staff/checkins", json={"code": code}, headers=worker)

    for forged in ("CP1", signs.east[:-1] + ("a" if signs.east[-1] != "a" else "b"), "https://example.invalid/q/x"):
        response = post(forged)
        assert response.status_code == 404 and "不是本区巡查点" in response.get_json()["error"]["message"]
    replaced = post(signs.east_old)
    assert replaced.status_code == 410
    assert replaced.get_json()["error"] == {
        "code": "sign_replaced",
        "message": "这个巡查点的二维码已经更换，请扫描现场张贴的新二维码",
    }
    outside = post(signs.far)
    assert outside.status_code == 403 and "不在您负责的网格内" in outside.get_json()["error"]["message"]
    assert count_check_ins(app) == 0


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"code": ""},
        {"code": 42},
        {"code": "CODE", "lat": "31.8", "lng": 117.3, "coord_system": "gcj02"},
        {"code": "CODE", "lat": 31.8},
        {"code": "CODE", "lat": 31.8, "lng": 117.3},
        {"code": "CODE", "lat": 31.8, "lng": 117.3, "coord_system": "bd09"},
        {"code": "CODE", "lat": 310, "lng": 117.3, "coord_system": "gcj02"},
    ],
)
def test_bad_input_is_400_and_nothing_is_stored(app, client, auth, signs, body):
    if isinstance(body, dict) and body.get("code") == "CODE":
        body = {**body, "code": signs.east}
    headers = auth("worker")
    if body is None:
        response = client.post("/api/v1/staff/checkins", data="not json", content_type="text/plain", headers=headers)
    else:
        response = client.post("/api/v1/staff/checkins", json=body, headers=headers)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["message"]
    assert count_check_ins(app) == 0


def test_every_endpoint_demands_a_staff_token(app, client, signs):
    # Residents have no staff token: they cannot check in, list, see coverage or get a binding code.
    for method, url in [
        ("post", "/api/v1/staff/checkins"),
        ("get", "/api/v1/staff/checkins"),
        ("get", "/api/v1/staff/coverage"),
        ("post", "/api/v1/staff/wechat-binding"),
    ]:
        response = getattr(client, method)(url, json={"code": signs.east} if method == "post" else None)
        assert response.status_code == 401, url
        forged = getattr(client, method)(url, headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code == 401, url
    assert count_check_ins(app) == 0


def test_listing_is_scoped_and_filtered(app, client, auth, signs, settings):
    client.post("/api/v1/staff/checkins", json={"code": signs.east}, headers=auth("worker"))
    client.post("/api/v1/staff/checkins", json={"code": signs.west_url}, headers=auth("street"))
    client.post("/api/v1/staff/checkins", json={"code": signs.far}, headers=auth("other-street"))

    def listed(username, **query):
        response = client.get("/api/v1/staff/checkins", query_string=query, headers=auth(username))
        assert response.status_code == 200, response.get_json()
        return [(c["staff"]["username"], c["checkpoint"]["code"]) for c in response.get_json()["check_ins"]]

    assert listed("street") == [("street", "CP2"), ("worker", "CP1")]  # newest first
    assert listed("other-street") == [("other-street", "CP3")]
    assert listed("other-street", grid="G1") == []  # another street's grid: nothing
    assert listed("worker") == [("worker", "CP1")]
    assert len(listed("center")) == 3
    assert listed("center", staff="worker") == [("worker", "CP1")]
    assert listed("street", grid="G2") == [("street", "CP2")]
    today = datetime.now(settings.tz).date()
    assert len(listed("center", day=today.isoformat())) == 3
    assert listed("center", day=(today - timedelta(days=1)).isoformat()) == []


@pytest.mark.parametrize(
    ("query", "status"),
    [({"day": "2026-13-01"}, 400), ({"day": "yesterday"}, 400), ({"day": "20261121"}, 400), ({"grid": "NOPE"}, 404)],
)
def test_bad_filters_are_4xx_json(app, client, auth, signs, query, status):
    headers = auth("center")
    for url in ("/api/v1/staff/checkins", "/api/v1/staff/coverage"):
        response = client.get(url, query_string=query, headers=headers)
        assert response.status_code == status, (url, response.get_json())
        assert response.get_json()["error"]["message"]


def test_coverage_per_grid(app, client, auth, signs, settings):
    client.post("/api/v1/staff/checkins", json={"code": signs.east}, headers=auth("worker"))
    today = datetime.now(settings.tz).date().isoformat()
    street = client.get("/api/v1/staff/coverage", query_string={"day": today}, headers=auth("street"))
    assert street.status_code == 200
    assert street.get_json() == {
        "day": today,
        "grids": [
            {"grid": "G1", "name": "网格G1", "visited": 1, "total": 1, "ratio": 1.0},
            {"grid": "G2", "name": "网格G2", "visited": 0, "total": 1, "ratio": 0.0},
        ],
    }
    other = client.get("/api/v1/staff/coverage", headers=auth("other-street")).get_json()
    assert other["day"] == today  # the district's today by default
    assert other["grids"] == [{"grid": "X", "name": "网格X", "visited": 0, "total": 1, "ratio": 0.0}]
    narrowed = client.get("/api/v1/staff/coverage", query_string={"grid": "S2"}, headers=auth("street"))
    assert narrowed.get_json()["grids"] == []


def test_a_binding_code_for_the_official_account(app, client, auth, signs):
    response = client.post("/api/v1/staff/wechat-binding", headers=auth("worker"))
    assert response.status_code == 200
    body = response.get_json()
    assert len(body["code"]) == 6 and body["code"].isdigit()
    assert body["expires_in"] == 600
    assert body["instruction"] == f"在公众号中发送「绑定 {body['code']}」"
