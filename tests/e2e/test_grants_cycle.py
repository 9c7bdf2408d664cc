"""A micro-grant round the whole way, with a real worker process and the fake WeChat API.

A round is opened; two groups apply through the mini-program API; a member of one group sits on the
committee and is recused from it; the committee scores; residents support; decisions are published
within the budget; one grant is paid in two tranches across both sources; a progress report
arrives; the round's public page shows it all; and each applicant's WeChat got every update.
"""

from __future__ import annotations

import io
from collections import Counter

import pytest
from sqlalchemy import select

from core.errors import Forbidden, InvalidInput
from core.glossary import NotificationStatus, Role
from core.grants import applications, committee, decisions, money
from core.grants.terms import Decision, GrantStatus, MemberKind
from core.models import GrantApplication, GrantRound, Notification, StaffUser
from tests.support import factories, images
from tests.support import grants as gh
from tests.support.processes import wait_until

pytestmark = [pytest.mark.real_services]

SUBSCRIBE = "/cgi-bin/message/subscribe/send"
TEMPLATE = "MP_GRANT"


def _sign_in(client, fake_wechat, openid: str, consents: int = 0) -> dict[str, str]:
    code = f"login-{openid}"
    fake_wechat.add_login_code(code, openid, f"key-{openid}")
    token = client.post("/api/v1/session", json={"code": code}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(consents):  # each wx.requestSubscribeMessage "accept" allows one message
        client.post("/api/v1/subscriptions", json={"results": {TEMPLATE: "accept"}}, headers=headers)
    return headers


def _apply(client, headers, round_id: int, title: str, category: str, price: int, *team: dict) -> int:
    body = {
        "round_id": round_id,
        "title": title,
        "category": category,
        "summary": f"{title}的简介",
        "group_name": f"{title}小组",
        "team": [{"name": "组长", "role": "负责人", "me": True}, *team],
        "budget_lines": [{"item": "物资", "quantity": 10, "unit_price_fen": price}],
    }
    draft = client.post("/api/v1/grants/applications", json=body, headers=headers)
    assert draft.status_code == 201, draft.get_json()
    application_id = draft.get_json()["id"]
    submitted = client.post(f"/api/v1/grants/applications/{application_id}/submit", headers=headers)
    assert submitted.get_json()["status"] == "submitted"
    return application_id


def _messages(fake_wechat) -> Counter:
    return Counter(call.json["touser"] for call in fake_wechat.calls(SUBSCRIBE))


def test_a_round_from_opening_to_progress(make_app, settings, fake_wechat, start_worker, clean_database):
    settings = settings.replace(wechat_mini_status_templates=(("default", TEMPLATE),))
    fake_wechat.apps[settings.wechat_mini_app_id] = settings.wechat_mini_app_secret
    app = make_app(settings)
    client = app.test_client()
    start_worker(settings)
    db = clean_database

    with db.session() as s:
        center = factories.staff(s, "fx-center", Role.DISTRICT_CENTER)
        grant_round = gh.open_round(s, budget_fen=500_000, cap_per_application_fen=400_000)
        grant_round.created_by_id = center.id
        s.commit()
        round_id = grant_round.id

    tidy = _sign_in(client, fake_wechat, "oMini_tidy", consents=10)
    books = _sign_in(client, fake_wechat, "oMini_books", consents=10)
    tidy_id = _apply(client, tidy, round_id, "楼道清洁", "小区维护", 30_000)  # 3,000.00 元
    volunteer = {"name": "赵老师", "role": "图书管理", "phone": "13800002222"}
    books_id = _apply(client, books, round_id, "邻里书屋", "小区文化营造", 25_001, volunteer)  # 2,500.10 元

    with db.session() as s:
        grant_round = s.get(GrantRound, round_id)
        # 赵老师 of the books group sits on the committee as a residents' representative.
        inside = gh.member(s, grant_round, "m-books", MemberKind.RESIDENT_REP, phone="138-0000-2222")
        seats = [inside, gh.member(s, grant_round, "m-funder", MemberKind.FUNDER_REP), gh.member(s, grant_round, "m-x")]
        staff = s.get(StaffUser, grant_round.created_by_id)
        tidy_app, books_app = s.get(GrantApplication, tidy_id), s.get(GrantApplication, books_id)
        for application in (tidy_app, books_app):
            applications.start_review(s, application, staff=staff)
        assert committee.recusal_reason(inside, books_app) == "本人为申请团队成员（电话相同）"
        keys = [c["key"] for c in grant_round.rubric]
        with pytest.raises(Forbidden):
            committee.submit_scores(s, inside, books_app, dict.fromkeys(keys, 5), "")
        committee.submit_scores(s, inside, tidy_app, dict.fromkeys(keys, 4), "可行")
        for seat in seats[1:]:
            committee.submit_scores(s, seat, tidy_app, {**dict.fromkeys(keys, 5), "budget": None}, "好")
            committee.submit_scores(s, seat, books_app, dict.fromkeys(keys, 3), "一般")
        # Quorum counts only the two members not recused from the books.
        assert committee.tally(s, books_app)[:2] == (2, 2)
        s.commit()

    fans = [_sign_in(client, fake_wechat, f"oMini_fan{n}") for n in range(3)]
    for headers in fans:
        client.post(f"/api/v1/grants/applications/{tidy_id}/support", headers=headers)
    client.post(f"/api/v1/grants/applications/{tidy_id}/support", headers=fans[0])  # once only
    client.post(f"/api/v1/grants/applications/{books_id}/support", headers=fans[1])

    with db.session() as s:
        staff = s.scalar(select(StaffUser).where(StaffUser.username == "fx-center"))
        tidy_app, books_app = s.get(GrantApplication, tidy_id), s.get(GrantApplication, books_id)
        assert (committee.supports(s, tidy_id), committee.supports(s, books_id)) == (3, 1)
        decisions.record(s, tidy_app, Decision.APPROVE, staff=staff, amount_fen=280_001, note="压缩宣传费")
        with pytest.raises(InvalidInput) as raised:  # the books in full would go over the budget
            decisions.record(s, books_app, Decision.APPROVE, staff=staff)
        assert raised.value.message == (
            "超出本期总预算：总预算 5,000.00 元，已批 2,800.01 元，本项 2,500.10 元，合计 5,300.11 元"
        )
        decisions.record(s, books_app, Decision.APPROVE, staff=staff, amount_fen=219_999)
        decisions.publish(s, tidy_app.round, staff=staff)
        assert tidy_app.approved_fen + books_app.approved_fen == tidy_app.round.budget_fen
        # Two tranches, one per source, that add up to the grant exactly (the odd fen included).
        for source in tidy_app.round.sources:
            money.disburse(s, tidy_app, source.id, tidy_app.split[str(source.id)], staff=staff)
        assert sum(b.paid_fen for b in money.balances(s, tidy_app)) == 280_001
        assert sorted(tidy_app.split.values()) == [140_000, 140_001]
        s.commit()

    report = client.post(
        f"/api/v1/grants/applications/{tidy_id}/reports",
        data={
            "text": "已完成两次楼道清洁，参与 18 人",
            "photos": [(io.BytesIO(images.photo_with_exif(800, 600)), "p.jpg")],
        },
        headers=tidy,
        content_type="multipart/form-data",
    )
    assert report.status_code == 201, report.get_json()

    page = client.get(f"/grants/{round_id}").get_data(as_text=True)
    for text in (
        "楼道清洁",
        "邻里书屋",
        "2,800.01 元",
        "2,199.99 元",
        "5,000.00 元",
        "方兴社区",
        "合肥市慈善基金会",
        "已完成两次楼道清洁",
    ):
        assert text in page, text
    # The report's photo is shown once the worker has made its clean copy.
    wait_until(
        lambda: "/grants/files/" in client.get(f"/grants/{round_id}").get_data(as_text=True),
        timeout=30,
        what="the report's photo, processed by the worker",
    )
    assert f"/grants/{round_id}" in client.get("/grants").get_data(as_text=True)

    # submitted, in review, approved, in progress for the tidy group; submitted, in review, approved for the books.
    wait_until(
        lambda: _messages(fake_wechat) == Counter({"oMini_tidy": 4, "oMini_books": 3}),
        timeout=30,
        what="every applicant update",
    )
    phrases = [
        c.json["data"]["phrase2"]["value"] for c in fake_wechat.calls(SUBSCRIBE) if c.json["touser"] == "oMini_tidy"
    ]
    assert sorted(phrases) == sorted(["已提交", "评审中", "已获资助", "实施中"])
    with db.session() as s:
        notes = s.scalars(select(Notification).where(Notification.grant_event_id.is_not(None))).all()
        assert len(notes) == 7 and {n.status for n in notes} == {NotificationStatus.SENT}
        assert s.get(GrantApplication, tidy_id).status == GrantStatus.IN_PROGRESS
