"""Hostile agreements: junk versions and scopes, other shapes, no token; and reports that try to skip consent."""

from __future__ import annotations

import io
import itertools

import pytest

from tests.support import images

_codes = itertools.count(1)


@pytest.fixture
def headers(client, fake_wechat) -> dict[str, str]:
    """A resident new to the mini-program (not one of the world's, who agreed), not yet agreed to anything."""
    code = f"privacy-hostile-{next(_codes)}"
    fake_wechat.add_login_code(code, "oMini_privacy_newcomer", "session-key")
    return {"Authorization": f"Bearer {client.post('/api/v1/session', json={'code': code}).get_json()['token']}"}


BODIES = {
    "no version": {"scopes": ["location"]},
    "stale version": {"version": "2019-01", "scopes": []},
    "future version": {"version": "2099-01", "scopes": ["location"]},
    "version too long": {"version": "2026-12" * 20, "scopes": []},
    "version with NUL": {"version": "2026-12\x00", "scopes": []},
    "version a number": {"version": 202612, "scopes": []},
    "version null": {"version": None, "scopes": []},
    "unknown scope": {"version": "2026-12", "scopes": ["location", "face_id"]},
    "scope a dict": {"version": "2026-12", "scopes": [{"location": True}]},
    "scopes a string": {"version": "2026-12", "scopes": "location"},
    "scopes an object": {"version": "2026-12", "scopes": {"location": True}},
    "scopes too many": {"version": "2026-12", "scopes": ["location"] * 50},
    "scope with control characters": {"version": "2026-12", "scopes": ["loca\x07tion"]},
    "scope SQL": {"version": "2026-12", "scopes": ["location' OR '1'='1"]},
    "a list body": ["2026-12", "location"],
}


@pytest.mark.parametrize("name", BODIES)
def test_a_bad_agreement_is_400_and_records_nothing(client, world, headers, unchanged, name):
    answer = unchanged(lambda: client.post("/api/v1/privacy/consents", json=BODIES[name], headers=headers))
    assert answer.status_code == 400, (name, answer.get_json())
    assert answer.get_json()["error"]["message"]


@pytest.mark.parametrize("auth", [{}, {"Authorization": "Bearer forged"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}])
def test_agreeing_without_a_resident_token_is_401(client, world, unchanged, auth):
    body = {"version": "2026-12", "scopes": ["location"]}
    assert unchanged(lambda: client.post("/api/v1/privacy/consents", json=body, headers=auth)).status_code == 401
    assert unchanged(lambda: client.get("/api/v1/privacy/consents", headers=auth)).status_code == 401


def test_a_non_json_agreement_is_400(client, world, headers, unchanged):
    answer = unchanged(
        lambda: client.post(
            "/api/v1/privacy/consents",
            data="version=2026-12&scopes=location",
            headers=headers,
            content_type="text/plain",
        )
    )
    assert answer.status_code == 400


REPORTS = {
    "no agreement, a position": ({}, 428),
    "a stale version with the report": ({"privacy_version": "2001-01"}, 400),
    "a version too long": ({"privacy_version": "x" * 500}, 400),
    "a version with NUL": ({"privacy_version": "2026-12\x00"}, 400),
    "acknowledged, but a precise position without its scope": ({"privacy_version": "2026-12"}, 428),
    "EXIF asked without its scope": (
        {"privacy_version": "2026-12", "use_photo_location": "true", "lat": None, "lng": None, "coord_system": None},
        428,
    ),
    "use_photo_location not a boolean": ({"privacy_version": "2026-12", "use_photo_location": "maybe"}, 400),
}


@pytest.mark.parametrize("name", REPORTS)
def test_a_report_that_skips_consent_stores_nothing(client, world, headers, unchanged, name):
    fields, status = REPORTS[name]
    data = {"category": "0101", "description": "路灯坏了", "lat": "31.805", "lng": "117.305", "coord_system": "gcj02"}
    data = {k: v for k, v in (data | fields).items() if v is not None}
    data["photos"] = [(io.BytesIO(images.photo_with_exif(200, 150, gps=(31.8, 117.3))), "a.jpg")]
    answer = unchanged(
        lambda: client.post("/api/v1/reports", data=data, headers=headers, content_type="multipart/form-data"),
        may_change=("staff",),
    )
    assert answer.status_code == status, (name, answer.get_json())
    error = answer.get_json()["error"]
    assert error["message"] and not error["message"].isascii()
    if status == 428:
        assert error["code"] == "consent_required" and error["version"] == "2026-12"


SIGN_PAGE = {
    "box not ticked": {},
    "an old version": {"privacy_version": "2020-01"},
    "a huge version": {"privacy_version": "9" * 5000},
    "an old version first of two": {"privacy_version": ["2020-01", "2026-12"]},
}


@pytest.mark.parametrize("name", SIGN_PAGE)
def test_the_sign_page_without_a_current_agreement_stores_nothing(client, world, unchanged, name):
    from tests.support.scan import form_fields

    page = client.get(f"/q/{world.code}")
    data = form_fields(page, agree=False) | {"description": "路灯坏了"} | SIGN_PAGE[name]
    data["photos"] = [(io.BytesIO(images.small_png()), "p.png")]
    answer = unchanged(
        lambda: client.post(f"/q/{world.code}", data=data, content_type="multipart/form-data"),
        may_change=("staff",),
    )
    assert answer.status_code == 400 and "个人信息保护说明" in answer.get_data(as_text=True)
