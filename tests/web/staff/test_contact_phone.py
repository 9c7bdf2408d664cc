"""Staff see a case's call-back number masked; 「查看完整号码」 is an audited POST for those who may see the case."""

from __future__ import annotations

from sqlalchemy import select

from core.models import AccessLogEntry, Case
from tests.support.console import console_login, csrf_token
from tests.support.sealed import PHONE
from tests.support.staff import setup_area, token

MASKED = "138****5678"


def _number(app) -> str:
    number = setup_area(app)
    with app.extensions["gongzhi"].database.session() as s:
        s.scalar(select(Case).where(Case.number == number)).contact_phone = PHONE
        s.commit()
    return number


def _log(app) -> list[tuple[str | None, str, str | None, str, dict | None]]:
    """The access log's phone entries (sign-ins and case views are recorded too, by their own tests)."""
    with app.extensions["gongzhi"].database.session() as s:
        query = select(AccessLogEntry).where(AccessLogEntry.action.like("phone.%")).order_by(AccessLogEntry.id)
        return [(e.actor_name, e.action, e.target_id, e.result, e.detail) for e in s.scalars(query)]


def _case_id(app, number: str) -> str:
    with app.extensions["gongzhi"].database.session() as s:
        return str(s.scalar(select(Case.id).where(Case.number == number)))


def test_the_console_shows_the_number_masked_and_reveals_it_once_with_an_audit_row(app, client):
    number = _number(app)
    console_login(client, "worker")
    page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert MASKED in page and PHONE not in page and "查看完整号码" in page
    assert _log(app) == []

    revealed = client.post(
        f"/console/cases/{number}/phone/reveal", data={"csrf_token": csrf_token(client, f"/console/cases/{number}")}
    )
    assert revealed.status_code == 200 and PHONE in revealed.get_data(as_text=True)
    assert revealed.headers["Cache-Control"] == "no-store"
    assert _log(app) == [("worker", "phone.reveal", _case_id(app, number), "ok", {"field": "contact_phone"})]
    # Shown once: the page itself, opened again, is masked.
    assert PHONE not in client.get(f"/console/cases/{number}").get_data(as_text=True)


def test_a_get_to_the_reveal_address_is_refused(app, client):
    number = _number(app)
    console_login(client, "worker")
    assert client.get(f"/console/cases/{number}/phone/reveal").status_code == 405
    headers = token(client, "worker")
    assert client.get(f"/api/v1/staff/cases/{number}/phone/reveal", headers=headers).status_code == 405
    assert _log(app) == []


def test_someone_outside_the_case_s_area_is_refused_and_the_attempt_recorded(app, client):
    number = _number(app)
    console_login(client, "other-street")
    refused = client.post(f"/console/cases/{number}/phone/reveal", data={"csrf_token": csrf_token(client, "/console/")})
    assert refused.status_code == 403 and PHONE not in refused.get_data(as_text=True)
    api = client.post(f"/api/v1/staff/cases/{number}/phone/reveal", headers=token(client, "other-street"))
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "forbidden"
    denied = ("other-street", "phone.reveal", _case_id(app, number), "denied", {"field": "contact_phone"})
    assert _log(app) == [denied, denied]


def test_the_staff_api_shows_the_number_masked_and_reveals_it_on_a_post(app, client):
    number = _number(app)
    headers = token(client, "street")
    shown = client.get(f"/api/v1/staff/cases/{number}", headers=headers).get_json()
    assert shown["contact_phone"] == MASKED and PHONE not in str(shown)
    listed = client.get("/api/v1/staff/cases", headers=headers).get_json()["cases"]
    assert [c["contact_phone"] for c in listed] == [MASKED]
    revealed = client.post(f"/api/v1/staff/cases/{number}/phone/reveal", headers=headers)
    assert revealed.status_code == 200 and revealed.get_json() == {"number": number, "contact_phone": PHONE}
    assert revealed.headers["Cache-Control"] == "no-store"
    assert _log(app) == [("street", "phone.reveal", _case_id(app, number), "ok", {"field": "contact_phone"})]


def test_reveals_are_limited_per_staff_member(settings, make_app):
    app = make_app(settings.replace(phone_reveals_per_hour=2))
    client = app.test_client()
    number = _number(app)
    headers = token(client, "center")
    answers = [client.post(f"/api/v1/staff/cases/{number}/phone/reveal", headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert PHONE not in answers[2].get_data(as_text=True)
    assert [(row[3], row[4]) for row in _log(app)] == [
        ("ok", {"field": "contact_phone"}),
        ("ok", {"field": "contact_phone"}),
        ("denied", {"field": "contact_phone", "reason": "rate_limited"}),
    ]
    # Another staff member is not held back by the first one's reveals.
    assert client.post(f"/api/v1/staff/cases/{number}/phone/reveal", headers=token(client, "street")).status_code == 200


def test_a_case_without_a_number_shows_none_and_reveals_nothing(app, client):
    number = setup_area(app)
    console_login(client, "center")
    assert "查看完整号码" not in client.get(f"/console/cases/{number}").get_data(as_text=True)
    answer = client.post(f"/api/v1/staff/cases/{number}/phone/reveal", headers=token(client, "center"))
    assert answer.status_code == 404 and _log(app) == []
    assert (
        client.get(f"/api/v1/staff/cases/{number}", headers=token(client, "center")).get_json()["contact_phone"] is None
    )
