"""Hostile probes of contact phones: an altered ciphertext in the database, a reveal without its CSRF token."""

from __future__ import annotations

from sqlalchemy import select, text

from core.models import AccessLogEntry, Case
from tests.support.console import console_login, csrf_token
from tests.support.sealed import PHONE, PHONE_RUN
from tests.support.staff import setup_area, token


def _case_with_phone(app) -> tuple[str, str]:
    number = setup_area(app)
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        s.scalar(select(Case).where(Case.number == number)).contact_phone = PHONE
        s.commit()
        sealed = s.execute(text("SELECT contact_phone FROM cases WHERE number = :n"), {"n": number}).scalar_one()
    return number, sealed


def _log_size(app) -> int:
    with app.extensions["gongzhi"].database.session() as s:
        return len(s.scalars(select(AccessLogEntry.id).where(AccessLogEntry.action.like("phone.%"))).all())


def test_an_altered_ciphertext_is_a_clear_error_that_shows_nothing_of_the_record(app, client, caplog):
    number, sealed = _case_with_phone(app)
    head, body = sealed.rsplit(":", 1)
    altered = f"{head}:{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}"
    with app.extensions["gongzhi"].database.session() as s:
        s.execute(text("UPDATE cases SET contact_phone = :v WHERE number = :n"), {"v": altered, "n": number})
        s.commit()
    console_login(client, "center")
    page = client.get(f"/console/cases/{number}")
    html = page.get_data(as_text=True)
    assert page.status_code == 500 and "个人信息无法解密" in html
    assert "路灯不亮" not in html and altered not in html and not PHONE_RUN.search(html)
    api = client.get(f"/api/v1/staff/cases/{number}", headers=token(client, "center"))
    assert api.status_code == 500 and api.get_json()["error"]["code"] == "personal_data_unreadable"
    assert "路灯不亮" not in api.get_data(as_text=True)
    reveal = client.post(f"/api/v1/staff/cases/{number}/phone/reveal", headers=token(client, "center"))
    assert reveal.status_code == 500 and not PHONE_RUN.search(reveal.get_data(as_text=True))
    # The log says which key id failed, never the value.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "无法解密" in logged or "篡改" in logged
    assert altered not in logged and body not in logged


def test_a_reveal_without_its_csrf_token_is_refused_and_records_nothing(app, client):
    number, _ = _case_with_phone(app)
    console_login(client, "center")
    for form in ({}, {"csrf_token": "forged"}):
        refused = client.post(f"/console/cases/{number}/phone/reveal", data=form)
        assert refused.status_code == 400 and PHONE not in refused.get_data(as_text=True)
    assert _log_size(app) == 0


def test_a_reveal_of_a_case_that_does_not_exist_is_404_and_records_nothing(app, client):
    _case_with_phone(app)
    console_login(client, "center")
    token_field = {"csrf_token": csrf_token(client, "/console/")}
    assert client.post("/console/cases/GZ20990101-999999/phone/reveal", data=token_field).status_code == 404
    headers = token(client, "center")
    assert client.post("/api/v1/staff/cases/%27%20OR%201=1/phone/reveal", headers=headers).status_code == 404
    assert _log_size(app) == 0
