"""An anonymous report: the staff API and console show 匿名 and nothing that identifies the resident."""

from __future__ import annotations

from sqlalchemy import select

from core.models import Case
from tests.support.console import console_login
from tests.support.staff import setup_area, token

IDENTITY = ("oResident_f_0001", "小王同学", "13912345678")


def _reported(app, *, anonymous: bool) -> str:
    number = setup_area(app)
    with app.extensions["gongzhi"].database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        case.anonymous = anonymous
        case.contact_phone = IDENTITY[2]
        case.reporter.nickname = IDENTITY[1]
        s.commit()
    return number


def test_the_staff_api_shows_an_anonymous_reporter_as_anonymous(app, client):
    number = _reported(app, anonymous=True)
    answer = client.get(f"/api/v1/staff/cases/{number}", headers=token(client, "worker"))
    assert answer.status_code == 200
    assert answer.get_json()["reporter"] == {"anonymous": True, "name": "匿名", "contact_phone": None}
    text = answer.get_data(as_text=True)
    assert not any(value in text for value in IDENTITY)


def test_the_staff_api_shows_a_named_reporter_and_call_back_number_masked_to_the_handler(app, client):
    number = _reported(app, anonymous=False)
    answer = client.get(f"/api/v1/staff/cases/{number}", headers=token(client, "worker"))
    assert answer.get_json()["reporter"] == {"anonymous": False, "name": IDENTITY[1], "contact_phone": "139****5678"}
    text = answer.get_data(as_text=True)
    assert IDENTITY[0] not in text and IDENTITY[2] not in text  # no openid; the full number only by reveal
    # Queue listings carry no reporter at all.
    listing = client.get("/api/v1/staff/cases", headers=token(client, "worker")).get_data(as_text=True)
    assert IDENTITY[1] not in listing and IDENTITY[2] not in listing


def test_the_console_shows_an_anonymous_reporter_as_anonymous(app, client):
    number = _reported(app, anonymous=True)
    console_login(client, "worker")
    page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "反映人：匿名" in page
    assert not any(value in page for value in IDENTITY)


def test_the_console_shows_a_named_reporter(app, client):
    number = _reported(app, anonymous=False)
    console_login(client, "worker")
    page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert f"反映人：{IDENTITY[1]}" in page and "139****5678" in page
    assert IDENTITY[2] not in page and IDENTITY[0] not in page


def test_an_anonymous_reports_phone_is_not_revealed_either(app, client):
    number = _reported(app, anonymous=True)
    answer = client.post(f"/api/v1/staff/cases/{number}/phone/reveal", headers=token(client, "worker"))
    assert answer.status_code == 404 and IDENTITY[2] not in answer.get_data(as_text=True)
