"""A neighbour following someone else's case: status and timeline only, no rating or reopening, limited following."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from core import case_loop
from core.glossary import CaseStatus, PhotoStatus
from core.models import Case, Photo
from core.models.base import utcnow
from tests.support import factories
from tests.support.hostile import PRIVATE, RESIDENT_A, RESIDENT_B

_codes = itertools.count(1)


def _sign_in(client, fake_wechat, openid: str) -> dict[str, str]:
    code = f"follower-code-{next(_codes)}"
    fake_wechat.add_login_code(code, "oMini_" + openid, "session-key")
    token = client.post("/api/v1/session", json={"code": code}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def neighbour(client, fake_wechat, world):
    """Resident B, who did not report the world's case, signed in to the mini-program."""
    return _sign_in(client, fake_wechat, RESIDENT_B)


@pytest.fixture
def reporter(client, fake_wechat, world):
    return _sign_in(client, fake_wechat, RESIDENT_A)


def _with_photo(app, number: str) -> None:
    with app.extensions["gongzhi"].database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        s.add(Photo(case_id=case.id, status=PhotoStatus.READY, path="p/secret.jpg", thumb_path="p/secret_t.jpg"))
        s.commit()


def _close(app, number: str) -> None:
    with app.extensions["gongzhi"].database.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        case.status, case.closed_at = CaseStatus.CLOSED, utcnow()
        s.commit()


def test_a_follower_sees_status_and_timeline_but_no_photo_text_or_position(app, client, world, neighbour, reporter):
    _with_photo(app, world.case_number)
    followed = client.post(f"/api/v1/cases/{world.case_number}/follow", headers=neighbour)
    assert followed.status_code == 200
    for answer in (followed, client.get(f"/api/v1/cases/{world.case_number}", headers=neighbour)):
        body = answer.get_json()
        assert body["status_label"] == "已上报" and body["timeline"] and body["is_reporter"] is False
        assert body["description"] is None and body["position"] is None
        assert body["photos"] == [] and body["photos_pending"] == 0
        text = answer.get_data(as_text=True)
        assert PRIVATE not in text and "secret" not in text and "117.3" not in text
    # The reporter still sees everything they sent.
    own = client.get(f"/api/v1/cases/{world.case_number}", headers=reporter).get_json()
    assert own["description"] == PRIVATE and own["position"] is not None and len(own["photos"]) == 1


def test_a_follower_may_neither_rate_nor_reopen(app, client, world, neighbour, unchanged):
    assert client.post(f"/api/v1/cases/{world.case_number}/follow", headers=neighbour).status_code == 200
    _close(app, world.case_number)
    detail = client.get(f"/api/v1/cases/{world.case_number}", headers=neighbour).get_json()
    assert detail["can_evaluate"] is False and detail["can_reopen"] is False
    rated = unchanged(
        lambda: client.post(f"/api/v1/cases/{world.case_number}/evaluation", json={"rating": 1}, headers=neighbour)
    )
    reopened = unchanged(
        lambda: client.post(f"/api/v1/cases/{world.case_number}/reopen", json={"reason": "没修好"}, headers=neighbour)
    )
    for answer in (rated, reopened):
        assert answer.status_code == 403
        assert set(answer.get_json()["error"]) >= {"code", "message"}
        assert "反映人本人" in answer.get_json()["error"]["message"]


def test_the_reporter_may_still_reopen(app, client, world, reporter):
    _close(app, world.case_number)
    answer = client.post(f"/api/v1/cases/{world.case_number}/reopen", json={"reason": "没修好"}, headers=reporter)
    assert answer.status_code == 200 and answer.get_json()["status"] == "dispatched"


def test_following_is_limited_to_ten_an_hour(app, client, world, neighbour):
    with app.extensions["gongzhi"].database.session() as s:
        original = s.scalar(select(Case).where(Case.number == world.case_number))
        numbers = [_another_case(s, app, original).number for _ in range(11)]
        s.commit()
    answers = [client.post(f"/api/v1/cases/{n}/follow", headers=neighbour) for n in numbers]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert answers[10].status_code == 429
    assert answers[10].get_json()["error"]["code"] == "too_many_requests"
    # The eleventh was not followed.
    with app.extensions["gongzhi"].database.session() as s:
        eleventh = s.scalar(select(Case).where(Case.number == numbers[10]))
        assert len(eleventh.followers) == 1  # the reporter only


def _another_case(session, app, like: Case) -> Case:
    """Another open case in the same grid, reported by resident A."""
    settings = app.extensions["gongzhi"].settings
    return factories.case(session, settings, grid=like.grid, reporter=like.reporter)


def test_the_tracking_page_shows_no_description_position_or_unmasked_reason(app, client, world):
    with app.extensions["gongzhi"].database.session() as s:
        case = s.scalar(select(Case).where(Case.number == world.case_number))
        case.tracking_token = "track-token-for-exposure-test"
        case_loop.transition(
            s, case, CaseStatus.REJECTED, action="reject", note="请拨打 138 1234 5678 联系3栋502室业主"
        )
        s.commit()
    _with_photo(app, world.case_number)
    page = client.get("/t/track-token-for-exposure-test")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "不予受理" in text and "请拨打" in text
    assert "5678" not in text and "502" not in text
    assert PRIVATE not in text and "secret" not in text and "117.3" not in text and "31.8" not in text
