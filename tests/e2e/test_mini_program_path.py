"""A report from the mini-program, the whole way: sign-in, consent, report, staff accepts, subscribe message."""

from __future__ import annotations

import io
import time

import pytest

from core.glossary import Role
from core.services.catalogue import load_catalogue
from tests.support import api, factories, images
from tests.support.processes import wait_until

pytestmark = [pytest.mark.real_services]

SUBSCRIBE = "/cgi-bin/message/subscribe/send"


def test_a_mini_program_report_is_accepted_and_the_resident_told_by_subscribe_message(
    make_app, settings, fake_wechat, start_worker, clean_database
):
    settings = settings.replace(wechat_mini_status_templates=(("default", "MP_PROGRESS"),))
    fake_wechat.apps[settings.wechat_mini_app_id] = settings.wechat_mini_app_secret
    app = make_app(settings)
    client = app.test_client()
    with clean_database.session() as s:
        factories.staff(s, "center", Role.DISTRICT_CENTER)
        load_catalogue(s, settings.catalogue_file)
        s.commit()
    start_worker(settings)

    fake_wechat.add_login_code("wx-login-1", "oMini_e2e", "session-key")
    token = client.post("/api/v1/session", json={"code": "wx-login-1"}).get_json()["token"]
    resident = {"Authorization": f"Bearer {token}"}
    assert api.agree(client, resident)["agreed"]  # the mini-program shows the privacy notice first
    assert (
        client.post("/api/v1/subscriptions", json={"results": {"MP_PROGRESS": "accept"}}, headers=resident).status_code
        == 200
    )
    created = client.post(
        "/api/v1/reports",
        data={
            "description": "楼道堆满杂物",
            "category": "0101",
            "lat": "31.8",
            "lng": "117.3",
            "coord_system": "gcj02",
            "client_request_id": "req-1",
            "photos": [(io.BytesIO(images.photo_with_exif(1200, 900)), "a.jpg")],
        },
        headers=resident,
        content_type="multipart/form-data",
    )
    assert created.status_code == 201, created.get_json()
    number = created.get_json()["number"]

    staff_token = client.post("/api/v1/staff/token", json={"username": "center", "password": factories.PASSWORD})
    headers = {"Authorization": f"Bearer {staff_token.get_json()['token']}"}
    accepted = client.post(f"/api/v1/staff/cases/{number}/actions", json={"action": "accept"}, headers=headers)
    assert accepted.status_code == 200

    [message] = wait_until(lambda: fake_wechat.calls(SUBSCRIBE), timeout=30, what="the subscribe message")
    assert message.json["touser"] == "oMini_e2e" and message.json["template_id"] == "MP_PROGRESS"
    assert message.json["data"]["character_string1"]["value"] == number
    assert message.json["data"]["phrase2"]["value"] == "已受理"
    time.sleep(1.5)
    assert len(fake_wechat.calls(SUBSCRIBE)) == 1  # one move, one message
    listed = client.get("/api/v1/notifications", headers=resident).get_json()
    assert [(n["case_number"], n["status"]) for n in listed["notifications"]] == [(number, "sent")]
    photo = client.get(f"/api/v1/cases/{number}", headers=resident).get_json()
    assert photo["number"] == number
