"""POST /platform/events over HTTP: signatures, bad bodies, repeats, order, refusals — and nothing half-stored."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from core.glossary import CaseStatus
from core.models import Case, CaseEvent, OutboxMessage, PlatformEvent
from tests.fakes.platform_server import signature
from tests.support.platform import SECRET, URL, accepted_case, ev, post


@pytest.fixture
def settings(settings):
    return settings.replace(platform_secret=SECRET, platform_url="http://127.0.0.1:9/cases")


def counts(app) -> tuple[int, int, int]:
    with app.extensions["gongzhi"].database.session() as s:
        return (
            s.scalar(select(func.count()).select_from(PlatformEvent)),
            s.scalar(select(func.count()).select_from(CaseEvent)),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def status_of(app, number) -> CaseStatus:
    with app.extensions["gongzhi"].database.session() as s:
        return s.scalar(select(Case.status).where(Case.number == number))


def test_the_endpoint_does_not_exist_without_a_platform_secret(make_app, settings, clean_database):
    client = make_app(settings.replace(platform_secret=None)).test_client()
    answer = client.post(URL, json={})
    assert answer.status_code == 404 and "PLATFORM_SECRET" in answer.get_json()["error"]["message"]


def test_unsigned_wrongly_signed_and_stale_requests_are_401_and_store_nothing(app, client):
    number = accepted_case(app)
    body = ev(number, 1, "dispatch", assignee="王五")
    before = counts(app)
    missing = post(client, body, headers={})
    assert missing.status_code == 401 and "缺少签名" in missing.get_json()["error"]["message"]
    assert post(client, body, secret="guessed").status_code == 401
    stale = post(client, body, timestamp=int(time.time()) - 301)  # a captured request replayed later
    assert stale.status_code == 401 and "过期" in stale.get_json()["error"]["message"]
    tampered = client.post(  # a signature taken from another request
        URL,
        data=json.dumps(body).encode(),
        headers={"X-Gongzhi-Timestamp": str(int(time.time())), "X-Gongzhi-Signature": signature(SECRET, "1", b"{}")},
    )
    assert tampered.status_code == 401 and tampered.get_json()["error"]["code"] == "bad_signature"
    assert counts(app) == before
    assert status_of(app, number) == CaseStatus.ACCEPTED
    assert post(client, body).status_code == 200  # the same body, signed properly, goes through


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"not json", "JSON"),
        (b"[1, 2]", "JSON"),
        (json.dumps({"event_id": "e1", "sequence": 1, "action": "close"}).encode(), "案件编号"),
        (json.dumps({"event_id": "e1", "case_number": "GZ1", "sequence": -1, "action": "close"}).encode(), "sequence"),
        (json.dumps({"event_id": "e1", "case_number": "GZ1", "sequence": 1, "action": "fly"}).encode(), "未知操作"),
    ],
)
def test_malformed_bodies_are_400_in_chinese_and_store_nothing(app, client, raw, says):
    accepted_case(app)
    before = counts(app)
    answer = post(client, None, raw=raw)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid" and says in answer.get_json()["error"]["message"]
    assert counts(app) == before


def test_an_unknown_case_is_404_and_stores_nothing(app, client):
    accepted_case(app)
    before = counts(app)
    answer = post(client, ev("GZ20990101-000001", 1, "close"))
    assert answer.status_code == 404 and "不存在" in answer.get_json()["error"]["message"]
    assert counts(app) == before


def test_a_repeated_event_is_answered_as_before_and_a_reused_id_with_other_content_is_409(app, client):
    number = accepted_case(app)
    body = ev(number, 1, "dispatch", assignee="王五", department="城管")
    first = post(client, body)
    assert first.status_code == 200 and first.get_json()["status"] == "applied"
    before = counts(app)

    again = post(client, body)
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate" and again.get_json()["event_status"] == "applied"
    assert again.get_json()["case_status"] == "dispatched"
    assert counts(app) == before  # no second move, no second message to the resident

    changed = post(client, {**body, "assignee": "赵六"})
    assert changed.status_code == 409 and "内容与这次不同" in changed.get_json()["error"]["message"]
    reused_sequence = post(client, ev(number, 1, "handle", event_id="other-id", note="已处理"))
    assert reused_sequence.status_code == 409 and "序号 1" in reused_sequence.get_json()["error"]["message"]
    assert counts(app) == before


def test_sequence_two_before_one_waits_then_both_apply_in_order(app, client):
    number = accepted_case(app)
    early = post(client, ev(number, 2, "handle", note="已清理完毕"))
    assert early.status_code == 200
    assert early.get_json()["status"] == "pending" and early.get_json()["processed"] == []
    assert status_of(app, number) == CaseStatus.ACCEPTED

    late = post(client, ev(number, 1, "dispatch", assignee="王五"))
    answer = late.get_json()
    assert late.status_code == 200 and answer["status"] == "applied" and answer["case_status"] == "handled"
    assert [(p["event_id"], p["status"]) for p in answer["processed"]] == [
        (f"{number}-1", "applied"),
        (f"{number}-2", "applied"),
    ]
    with app.extensions["gongzhi"].database.session() as s:
        actions = s.scalars(select(CaseEvent.action).order_by(CaseEvent.id)).all()
    assert actions == ["report", "accept", "dispatch", "handle"]


def test_a_move_the_loop_forbids_is_refused_and_the_platform_is_told_why(app, client):
    number = accepted_case(app)
    answer = post(client, ev(number, 1, "close", note="直接结案"))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "refused" and body["case_status"] == "accepted"
    assert body["error"] == f"案件 {number} 当前状态为「已受理」，不能变为「已办结」"
    assert status_of(app, number) == CaseStatus.ACCEPTED
    following = post(client, ev(number, 2, "dispatch", assignee="王五"))
    assert following.get_json()["status"] == "applied"  # a refused event does not block the ones after it
