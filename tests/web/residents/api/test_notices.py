"""Subscribe-message consent and the notifications list, through the mini-program API."""

from __future__ import annotations

from sqlalchemy import select

from core import case_loop
from core.glossary import CaseStatus
from core.models import Case, Notification
from tests.support.api import assert_error, post_report


def test_each_accept_allows_one_more_message(client, resident_headers):
    answer = client.post(
        "/api/v1/subscriptions",
        json={"results": {"TPL_PROGRESS": "accept", "TPL_CLOSED": "reject"}},
        headers=resident_headers,
    )
    assert answer.status_code == 200
    assert answer.get_json()["consents"] == [{"template_id": "TPL_PROGRESS", "remaining": 1}]
    client.post("/api/v1/subscriptions", json={"results": {"TPL_PROGRESS": "accept"}}, headers=resident_headers)
    listed = client.get("/api/v1/subscriptions", headers=resident_headers).get_json()
    assert listed["consents"] == [{"template_id": "TPL_PROGRESS", "remaining": 2}]


def test_bad_consent_bodies_are_400_and_change_nothing(client, resident_headers):
    for body in [{}, {"results": {}}, {"results": {"T": "maybe"}}, {"results": {"": "accept"}}, {"results": "x"}]:
        assert_error(client.post("/api/v1/subscriptions", json=body, headers=resident_headers), 400)
    assert client.get("/api/v1/subscriptions", headers=resident_headers).get_json()["consents"] == []
    assert_error(client.get("/api/v1/subscriptions"), 401)


def test_the_notifications_list_shows_what_the_resident_was_told_and_only_theirs(
    client, db, resident_headers, sign_in, catalogue
):
    number = post_report(client, resident_headers).get_json()["number"]
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        event = case_loop.transition(s, case, CaseStatus.ACCEPTED, action="accept")
        s.add(
            Notification(
                event_id=event.id,
                resident_id=case.reporter_id,
                channel="mp_subscribe",
                status="sent",
                content="您的案件已受理",
            )
        )
        s.commit()
    page = client.get("/api/v1/notifications", headers=resident_headers).get_json()
    assert page["total"] == 1
    [note] = page["notifications"]
    assert (note["case_number"], note["channel"], note["status"]) == (number, "小程序订阅消息", "sent")
    other = sign_in("oMini_someone_else")
    assert client.get("/api/v1/notifications", headers=other).get_json()["total"] == 0
    assert_error(client.get("/api/v1/notifications?per_page=500", headers=resident_headers), 400)
