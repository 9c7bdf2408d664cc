"""Open cases within 200 m, whichever coordinate system each was given in; following one instead of reporting."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.geo import Point, distance_m
from core.glossary import CaseStatus, CoordSystem
from core.models import Case, Category
from tests.support import factories
from tests.support.api import OTHER_SUB_CATEGORY, SUB_CATEGORY, assert_error

pytestmark = pytest.mark.usefixtures("catalogue")

HERE = Point(31.8200, 117.2270, CoordSystem.WGS84)  # near Hefei, where GCJ-02 is ~500 m off WGS-84
METRES_PER_DEGREE_LAT = 111_195.08


def north(point: Point, metres: float) -> Point:
    return Point(point.lat + metres / METRES_PER_DEGREE_LAT, point.lng, point.system)


def add_case(db, settings, at: Point, *, category: str = SUB_CATEGORY, status=CaseStatus.REPORTED, **changes) -> str:
    with db.session() as s:
        case = factories.case(s, settings, reporter=factories.resident(s, openid=f"oNear_{at.lat}_{status}"))
        case.status = status
        case.lat, case.lng, case.coord_system = at.lat, at.lng, at.system
        case.category = s.scalar(select(Category).where(Category.code == category))
        case.contact_phone = "13800000000"
        for name, value in changes.items():
            setattr(case, name, value)
        s.commit()
        return case.number


def nearby(client, headers, at: Point, **params):
    query = {"lat": at.lat, "lng": at.lng, "coord_system": at.system.value, **params}
    return client.get("/api/v1/cases/nearby", query_string=query, headers=headers)


def test_the_200_metre_rule_across_coordinate_systems(client, db, api_settings, resident_headers):
    # Stored in GCJ-02 (as WeChat gives it), asked for in WGS-84 (as GPS gives it).
    near = add_case(db, api_settings, north(HERE, 150).to(CoordSystem.GCJ02))
    far = add_case(db, api_settings, north(HERE, 250).to(CoordSystem.GCJ02))
    near_wgs = add_case(db, api_settings, north(HERE, -120))
    assert distance_m(HERE, HERE.to(CoordSystem.GCJ02).to(CoordSystem.WGS84)) < 1  # the conversion round-trips
    assert distance_m(Point(HERE.lat, HERE.lng, CoordSystem.GCJ02), HERE) > 300  # raw numbers would mislead

    body = nearby(client, resident_headers, HERE).get_json()
    assert body["radius_m"] == 200
    assert [(c["number"], c["distance_m"]) for c in body["cases"]] == [(near_wgs, 120), (near, 150)]
    assert far not in str(body)
    # The same place asked for in GCJ-02 finds the same cases, positions given in the asker's system.
    again = nearby(client, resident_headers, HERE.to(CoordSystem.GCJ02)).get_json()["cases"]
    assert [c["number"] for c in again] == [near_wgs, near]
    assert {c["position"]["coord_system"] for c in again} == {"gcj02"}
    gcj_near = north(HERE, 150).to(CoordSystem.GCJ02)
    # Rounded to three decimals (about 100 m): a stranger learns the street, not the door.
    assert again[1]["position"]["lat"] == round(gcj_near.lat, 3) and again[1]["distance_m"] == 150


def test_only_open_cases_of_the_category_without_personal_data(client, db, api_settings, resident_headers):
    wanted = add_case(db, api_settings, north(HERE, 50), description="我家 3 栋 201 门口")
    add_case(db, api_settings, north(HERE, 60), category=OTHER_SUB_CATEGORY)
    add_case(db, api_settings, north(HERE, 70), status=CaseStatus.CLOSED)
    add_case(db, api_settings, north(HERE, 80), status=CaseStatus.REJECTED)
    handled = add_case(db, api_settings, north(HERE, 90), status=CaseStatus.HANDLED)
    response = nearby(client, resident_headers, HERE, category=SUB_CATEGORY)
    cases = response.get_json()["cases"]
    assert [c["number"] for c in cases] == [wanted, handled]
    assert set(cases[0]) == {
        "number",
        "status",
        "status_label",
        "category",
        "distance_m",
        "position",
        "following",
    }
    text = response.get_data(as_text=True)
    assert "13800000000" not in text and "201" not in text and "oNear" not in text
    # A major category takes in its sub-categories.
    assert len(nearby(client, resident_headers, HERE, category="01").get_json()["cases"]) == 3
    assert len(nearby(client, resident_headers, HERE).get_json()["cases"]) == 3


def test_follow_instead_of_reporting(client, db, api_settings, resident_headers):
    number = add_case(db, api_settings, north(HERE, 30).to(CoordSystem.GCJ02))
    [found] = nearby(client, resident_headers, HERE).get_json()["cases"]
    assert found["following"] is False
    assert client.post(f"/api/v1/cases/{found['number']}/follow", headers=resident_headers).status_code == 200
    assert nearby(client, resident_headers, HERE).get_json()["cases"][0]["following"] is True
    mine = client.get("/api/v1/cases", headers=resident_headers).get_json()
    assert [c["number"] for c in mine["cases"]] == [number]
    with db.session() as s:
        assert len(s.scalar(select(Case).where(Case.number == number)).followers) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 95, "lng": 117.2, "coord_system": "wgs84"}, "lat"),
        ({"lat": 31.8, "lng": 117.2, "coord_system": "bd09"}, "coord_system"),
        ({"lat": 31.8, "lng": 117.2}, "coord_system"),
        ({"lat": "x", "lng": 117.2, "coord_system": "gcj02"}, "lat"),
        ({"lng": 117.2, "coord_system": "gcj02"}, "lat"),
    ],
)
def test_a_bad_position_is_a_400(client, resident_headers, params, field):
    response = client.get("/api/v1/cases/nearby", query_string=params, headers=resident_headers)
    assert field in assert_error(response, 400, "invalid")["fields"]


def test_an_unknown_category_is_a_400(client, resident_headers):
    assert_error(nearby(client, resident_headers, HERE, category="9999"), 400, "invalid")


def test_nearby_needs_a_resident(client):
    assert_error(nearby(client, {}, HERE), 401, "unauthorized")
