"""Hostile requests to the scan page, the mini-program API and Open311: forged and rotated codes, missing
CSRF, bombs, polyglots and non-images, impossible coordinates, huge and control-character text, other
residents' cases, SQL-looking strings. Each gets a clear 4xx; nothing is stored."""

from __future__ import annotations

import io
import itertools
import re

import pytest

from core.services.api_keys import create_key
from tests.support import images
from tests.support.hostile import PRIVATE

_codes = itertools.count(1)
PNG_HTML_POLYGLOT = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(1)</script></html>" * 20
JPEG_HTML_POLYGLOT = b"\xff\xd8\xff\xe0" + b"<script>alert(1)</script>" * 40
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'
GIF_JS = b"GIF89a/*\x00\x00*/=alert(1)//" + b"\x00" * 64
PHOTOS = {
    "decompression bomb": images.decompression_bomb,
    "truncated jpeg": images.truncated_jpeg,
    "png/html polyglot": lambda: PNG_HTML_POLYGLOT,
    "jpeg/html polyglot": lambda: JPEG_HTML_POLYGLOT,
    "svg with script": lambda: SVG,
    "gif/javascript polyglot": lambda: GIF_JS,
    "a zip file": lambda: b"PK\x03\x04" + b"\x00" * 200,
    "a pdf": lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF",
    "plain text": lambda: "这不是照片".encode(),
    "empty file": lambda: b"",
    "an html page": lambda: b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
    "over 10 MB": lambda: b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024 + 10),
}


# --- the scan page -------------------------------------------------------------------------------

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _scan_form(client, code: str) -> str:
    page = client.get(f"/q/{code}")
    assert page.status_code == 200
    return _TOKEN.search(page.get_data(as_text=True))[1]


FORGED_CODES = {
    "random": "zz-zz-zzzzzzzzzz",
    "altered mac": None,  # filled from the world's code
    "no mac": "1-1",
    "sql": "1' OR '1'='1",
    "path traversal": "..%2F..%2Fetc%2Fpasswd",
    "very long": "a" * 3000,
    "non-ascii": "巡查点-一-二",
    "script": "<script>alert(1)</script>",
    "null byte": "1-1-%00aaaaaaaa",
}


@pytest.mark.parametrize("name", FORGED_CODES)
def test_a_forged_sign_code_is_404_to_look_at_and_to_post_to(client, world, unchanged, name):
    code = FORGED_CODES[name] or world.code[:-1] + ("a" if world.code[-1] != "a" else "b")
    page = unchanged(lambda: client.get(f"/q/{code}"))
    assert page.status_code == 404 and b"<script>alert" not in page.get_data()
    token = _scan_form(client, world.code)
    posted = unchanged(lambda: client.post(f"/q/{code}", data={"csrf_token": token, "description": "x"}))
    assert posted.status_code == 404


def test_a_rotated_sign_says_it_was_replaced(client, world, unchanged):
    assert unchanged(lambda: client.get(f"/q/{world.old_code}")).status_code == 410


SCAN_FORMS = {
    "no csrf token": ({"description": "路灯坏了"}, "nocsrf"),
    "wrong csrf token": ({"description": "路灯坏了", "csrf_token": "forged"}, "nocsrf"),
    "no photo": ({"description": "路灯坏了"}, None),
    "ten photos": ({"description": "路灯坏了", "photos": 10}, None),
    "description of 10,000 characters": ({"description": "坏" * 10000}, "photo"),
    "phone with letters": ({"description": "x", "phone": "call-me-maybe"}, "photo"),
    "phone with script": ({"description": "x", "phone": "<script>"}, "photo"),
    "latitude 999": ({"description": "x", "lat": "999", "lng": "117.3"}, "photo"),
    "latitude NaN": ({"description": "x", "lat": "nan", "lng": "nan"}, "photo"),
    "longitude infinity": ({"description": "x", "lat": "31.8", "lng": "inf"}, "photo"),
    "coordinates as words": ({"description": "x", "lat": "north", "lng": "east"}, "photo"),
    "unknown coordinate system": ({"description": "x", "lat": "31.8", "lng": "117.3", "coord_system": "mars"}, "photo"),
    "unknown category": ({"description": "x", "category": "'; DROP TABLE categories; --"}, "photo"),
}


@pytest.mark.parametrize("name", SCAN_FORMS)
def test_a_bad_scan_form_is_refused_and_stores_nothing(client, world, unchanged, name):
    fields, kind = SCAN_FORMS[name]
    data = dict(fields)
    if kind != "nocsrf":
        data.setdefault("csrf_token", _scan_form(client, world.code))
    count = data.pop("photos", 1 if kind == "photo" else 0)
    if count:
        data["photos"] = [(io.BytesIO(images.photo_with_exif(200, 150)), f"p{i}.jpg") for i in range(count)]
    answer = unchanged(lambda: client.post(f"/q/{world.code}", data=data, content_type="multipart/form-data"))
    assert 400 <= answer.status_code < 500, answer.status_code


@pytest.mark.parametrize("name", PHOTOS)
def test_a_hostile_photo_on_the_scan_page_is_refused(client, world, unchanged, name):
    data = {
        "csrf_token": _scan_form(client, world.code),
        "description": "路灯坏了",
        "photos": [(io.BytesIO(PHOTOS[name]()), "photo.jpg")],
    }
    answer = unchanged(lambda: client.post(f"/q/{world.code}", data=data, content_type="multipart/form-data"))
    assert answer.status_code == 400  # not a real image, or over 10 MB: bad input


# --- the mini-program API ------------------------------------------------------------------------


@pytest.fixture
def resident(client, fake_wechat):
    """Resident B (not the reporter of the world's case) signed in to the mini-program, agreed to the notice."""
    from tests.support.api import agree
    from tests.support.hostile import RESIDENT_B

    code = f"hostile-code-{next(_codes)}"
    fake_wechat.add_login_code(code, "oMini_" + RESIDENT_B, "session-key")
    token = client.post("/api/v1/session", json={"code": code}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    agree(client, headers)
    return headers


AUTH = {
    "no token": {},
    "not bearer": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "forged token": {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJyaWQiOjF9."},
    "empty bearer": {"Authorization": "Bearer "},
    "sql token": {"Authorization": "Bearer ' OR 1=1 --"},
    "huge token": {"Authorization": "Bearer " + "a" * 8000},
}


@pytest.mark.parametrize("name", AUTH)
@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/notifications"])
def test_the_api_refuses_callers_without_a_real_token(client, world, unchanged, name, path):
    assert unchanged(lambda: client.get(path, headers=AUTH[name])).status_code == 401


def test_a_staff_token_is_not_a_resident_token(client, world, unchanged):
    staff = client.post("/api/v1/staff/token", json={"username": "center", "password": "correct-horse-9"})
    headers = {"Authorization": f"Bearer {staff.get_json()['token']}"}
    assert unchanged(lambda: client.get("/api/v1/cases", headers=headers)).status_code == 401


OTHERS = {
    "read another resident's case": ("get", "/api/v1/cases/{number}", None),
    "evaluate another resident's case": ("post", "/api/v1/cases/{number}/evaluation", {"rating": 1}),
    "reopen another resident's case": ("post", "/api/v1/cases/{number}/reopen", {"reason": "没修好"}),
    "read a made-up case": ("get", "/api/v1/cases/GZ20990101-000001", None),
    "read an sql case number": ("get", "/api/v1/cases/1%27%20OR%20%271%27=%271", None),
    "follow a made-up case": ("post", "/api/v1/cases/GZ20990101-000001/follow", None),
}


@pytest.mark.parametrize("name", OTHERS)
def test_another_residents_case_does_not_exist_for_you(client, world, resident, unchanged, name):
    method, path, body = OTHERS[name]
    path = path.replace("{number}", world.case_number)
    answer = unchanged(lambda: getattr(client, method)(path, json=body, headers=resident))
    assert answer.status_code == 404 and PRIVATE not in answer.get_data(as_text=True)  # 404 on every call


API_REPORTS = {
    "no photo": {"description": "x", "lat": "31.8", "lng": "117.3", "coord_system": "gcj02"},
    "latitude 999": {"lat": "999", "lng": "117.3", "coord_system": "gcj02"},
    "latitude NaN": {"lat": "NaN", "lng": "117.3", "coord_system": "gcj02"},
    "infinity": {"lat": "31.8", "lng": "Infinity", "coord_system": "gcj02"},
    "words": {"lat": "north", "lng": "east", "coord_system": "gcj02"},
    "half a position": {"lat": "31.8"},
    "mars coordinates": {"lat": "31.8", "lng": "117.3", "coord_system": "mars"},
    "huge description": {"description": "坏" * 10000},
    "sql category": {"category": "0101' OR '1'='1"},
    "forged checkpoint": {"checkpoint": "zz-zz-zzzzzzzzzz"},
    "rotated checkpoint": {"checkpoint": "{old}"},
    "bad request id": {"client_request_id": "../../etc/passwd"},
}


@pytest.mark.parametrize("name", API_REPORTS)
def test_a_bad_mini_program_report_is_refused_and_stores_nothing(client, world, resident, unchanged, name):
    data = {k: v.replace("{old}", world.old_code) for k, v in API_REPORTS[name].items()}
    data.setdefault("category", "0101")
    data.setdefault("description", "路灯坏了")
    if name != "no photo":
        data["photos"] = [(io.BytesIO(images.photo_with_exif(200, 150)), "a.jpg")]
        if "lat" not in data and "checkpoint" not in data:
            data.update(lat="31.805", lng="117.305", coord_system="gcj02")
    answer = unchanged(
        lambda: client.post("/api/v1/reports", data=data, headers=resident, content_type="multipart/form-data"),
        may_change=("staff",),
    )
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.get_json())
    assert answer.get_json()["error"]["message"]


@pytest.mark.parametrize("name", PHOTOS)
def test_a_hostile_photo_through_the_api_is_refused(client, world, resident, unchanged, name):
    data = {
        "category": "0101",
        "description": "路灯坏了",
        "lat": "31.805",
        "lng": "117.305",
        "coord_system": "gcj02",
        "photos": [(io.BytesIO(PHOTOS[name]()), "photo.jpg")],
    }
    answer = unchanged(
        lambda: client.post("/api/v1/reports", data=data, headers=resident, content_type="multipart/form-data")
    )
    assert answer.status_code == 400  # not a real image, or over 10 MB: bad input


NEARBY = ["lat=999&lng=117&coord_system=gcj02", "lat=nan&lng=nan&coord_system=gcj02", "lat=31.8&lng=117.3", "lat=x"]


@pytest.mark.parametrize("query", NEARBY)
def test_nearby_with_an_impossible_position_is_400(client, world, resident, unchanged, query):
    assert unchanged(lambda: client.get(f"/api/v1/cases/nearby?{query}", headers=resident)).status_code == 400


SESSIONS = {
    "no body": None,
    "not json": "code=abc",
    "a list": ["abc"],
    "empty code": {"code": ""},
    "code too long": {"code": "c" * 500},
    "unknown code": {"code": "never-issued"},
}


@pytest.mark.parametrize("name", SESSIONS)
def test_a_bad_mini_program_sign_in_is_400(client, world, unchanged, name):
    body = SESSIONS[name]
    if isinstance(body, str):
        answer = unchanged(lambda: client.post("/api/v1/session", data=body, content_type="text/plain"))
    else:
        answer = unchanged(lambda: client.post("/api/v1/session", json=body))
    assert answer.status_code == 400


# --- Open311 ---------------------------------------------------------------------------------------


@pytest.fixture
def open311_key(app):
    with app.extensions["gongzhi"].database.session() as s:
        _, key = create_key(s, "hostile tests")
        s.commit()
        return key


OPEN311 = {
    "no key": ({"service_code": "0101", "lat": "31.8", "long": "117.3", "description": "x"}, 403),
    "forged key": ({"api_key": "gz311_forged", "service_code": "0101", "lat": "31.8", "long": "117.3"}, 403),
    "sql key": ({"api_key": "' OR 1=1 --", "service_code": "0101", "lat": "31.8", "long": "117.3"}, 403),
    "unknown service": ({"service_code": "9999", "lat": "31.8", "long": "117.3"}, 404),
    "latitude 999": ({"service_code": "0101", "lat": "999", "long": "117.3"}, 400),
    "latitude NaN": ({"service_code": "0101", "lat": "nan", "long": "117.3"}, 400),
    "address only": ({"service_code": "0101", "address_string": "方兴大道"}, 400),
    "forged address id": ({"service_code": "0101", "address_id": "CP9999"}, 400),
    "huge description": ({"service_code": "0101", "lat": "31.8", "long": "117.3", "description": "x" * 20000}, 400),
    "no location": ({"service_code": "0101", "description": "x"}, 400),
}


@pytest.mark.parametrize("name", OPEN311)
def test_a_bad_open311_post_is_refused_and_stores_nothing(client, world, open311_key, unchanged, name):
    form, expected = OPEN311[name]
    form = dict(form)
    if name not in ("no key", "forged key", "sql key"):
        form["api_key"] = open311_key
    answer = unchanged(lambda: client.post("/open311/v2/requests.json", data=form))
    assert answer.status_code == expected, answer.get_data()[:300]
    assert isinstance(answer.get_json(), list) and answer.get_json()[0]["description"]


OPEN311_READS = [
    "/open311/v2/requests/GZ20990101-000001.json",
    "/open311/v2/requests/1%27%20OR%20%271.json",
    "/open311/v2/requests.json?start_date=yesterday",
    "/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
    "/open311/v2/requests.json?status=maybe",
    "/open311/v2/tokens/forged-token.json",
    "/open311/v2/services/%3Cscript%3E.json",
    "/open311/v2/requests.exe",
]


@pytest.mark.parametrize("path", OPEN311_READS)
def test_bad_open311_reads_are_clear_4xx(client, world, unchanged, path):
    answer = unchanged(lambda: client.get(path))
    assert 400 <= answer.status_code < 500
    # An echoed value is data in a JSON or XML document, never markup of an HTML page.
    assert answer.mimetype in ("application/json", "text/xml", "application/xml")


# --- security headers ----------------------------------------------------------------------------

FRAMED = {
    "the sign page": "/q/{code}",
    "a forged sign": "/q/forged-code",
    "an unknown tracking token": "/t/no-such-token",
    "the console sign-in": "/console/login",
    "a missing page": "/nowhere",
}


@pytest.mark.parametrize("name", FRAMED)
def test_no_page_can_be_framed_or_run_inline_script(client, world, unchanged, name):
    answer = unchanged(lambda: client.get(FRAMED[name].replace("{code}", world.code)))
    policy = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy and "unsafe-eval" not in policy
    assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


def test_json_errors_are_not_sniffed_and_leak_no_referrer(client, world, unchanged):
    answer = unchanged(lambda: client.get(f"/api/v1/cases/{world.case_number}"))
    assert answer.status_code in (401, 403, 404)
    assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["Referrer-Policy"] == "no-referrer"


# --- the WeChat return and the Host header -------------------------------------------------------


@pytest.mark.parametrize("state", ["0" * 32, "https://evil.example/", "/q/abc", ""])
def test_a_wechat_return_with_a_state_this_session_never_made_goes_nowhere(client, world, unchanged, state):
    answer = unchanged(lambda: client.get("/wechat/oauth", query_string={"code": "x", "state": state}))
    assert answer.status_code == 404


def test_a_forged_host_header_puts_no_link_elsewhere(app, client, world, unchanged):
    from sqlalchemy import select

    from core.models import Case

    token = "hostile-host-token"
    with app.extensions["gongzhi"].database.session() as s:
        s.scalar(select(Case).where(Case.number == world.case_number)).tracking_token = token
        s.commit()
    answer = unchanged(lambda: client.get(f"/t/{token}?submitted=1", base_url="http://evil.example"))
    assert answer.status_code == 200 and "evil.example" not in answer.get_data(as_text=True)
