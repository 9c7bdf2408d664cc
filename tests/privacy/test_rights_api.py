"""A resident's copy of their data and their erasure, through the mini-program API, as the resident and staff see it."""

from __future__ import annotations

import itertools
import json

from sqlalchemy import select

from core.models import Case, CaseEvent, PrivacyConsent, Resident, SubscribeConsent, case_followers
from core.privacy.anonymise import REDACTED
from tests.support import api, privacy
from tests.support import staff as staff_support

_requests = itertools.count(1)


def _report(client, headers, description: str) -> str:
    response = api.post_report(client, headers, description=description, client_request_id=f"r{next(_requests)}")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def test_the_copy_holds_the_callers_data_and_nobody_elses(client, db, sign_in, catalogue):
    me, you = sign_in("oMini_me"), sign_in("oMini_you")
    mine = _report(client, me, "我家楼下路灯不亮")
    yours = _report(client, you, "隔壁单元门禁坏了，电话 13700001111")
    assert client.post(f"/api/v1/cases/{yours}/follow", headers=me).status_code in (200, 201)
    assert client.post("/api/v1/subscriptions", json={"results": {"TPL1": "accept"}}, headers=me).status_code == 200

    response = client.get("/api/v1/me/data", headers=me)

    assert response.status_code == 200
    data = response.get_json()
    assert data["resident"]["mini_openid"] == "oMini_me"
    assert [c["number"] for c in data["cases_reported"]] == [mine]
    assert data["cases_reported"][0]["description"] == "我家楼下路灯不亮"
    assert [c["number"] for c in data["cases_followed"]] == [yours]
    assert data["subscriptions"] == [{"template_id": "TPL1", "remaining": 1}]
    text = json.dumps(data, ensure_ascii=False)
    assert "oMini_you" not in text and "门禁" not in text and "13700001111" not in text
    with db.session() as s:
        logged = privacy.entries(s, "privacy.export")
        assert [(e.actor_resident_id, e.target_id) for e in logged] == [
            (api.resident_id(db, "oMini_me"), str(logged[0].actor_resident_id))
        ]

    # The privacy-notice history: the first agreement, then the narrower one that withdrew the other scopes.
    api.agree(client, me, ["location"])
    consents = client.get("/api/v1/me/data", headers=me).get_json()["consents"]
    assert [(c["scopes"], c["channel"]) for c in consents][-1] == (["location"], "miniprogram")
    assert all(c["version"] and c["agreed_at"] for c in consents)


def test_erasure_leaves_an_anonymous_case_staff_still_see_and_a_new_empty_resident(app, client, db, sign_in, catalogue):
    staff_support.setup_area(app)
    me = sign_in("oMini_me")
    number = _report(client, me, "东门垃圾堆了三天，联系我 13912345678")
    client.post("/api/v1/subscriptions", json={"results": {"TPL1": "accept"}}, headers=me)
    old_id = api.resident_id(db, "oMini_me")

    response = client.delete("/api/v1/me", headers=me)

    assert response.status_code == 200 and response.get_json()["erased"] is True
    assert client.get("/api/v1/me/data", headers=me).status_code == 401
    with db.session() as s:
        gone = s.get(Resident, old_id)
        assert gone.erased_at is not None
        assert (gone.openid, gone.mini_openid, gone.unionid, gone.phone, gone.nickname) == (None,) * 5
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.reporter_id is None and case.anonymous
        assert "13912345678" not in case.description and "东门垃圾" in case.description
        assert s.scalar(select(SubscribeConsent).where(SubscribeConsent.resident_id == old_id)) is None
        assert s.scalar(select(PrivacyConsent).where(PrivacyConsent.resident_id == old_id)) is None
        assert s.scalar(select(case_followers.c.case_id).where(case_followers.c.resident_id == old_id)) is None
        assert [e.actor_resident_id for e in privacy.entries(s, "privacy.erase")] == [old_id]
    staff = staff_support.token(client, "center")
    seen = client.get(f"/api/v1/staff/cases/{number}", headers=staff)
    assert seen.status_code == 200 and "13912345678" not in seen.get_data(as_text=True)

    again = sign_in("oMini_me")
    data = client.get("/api/v1/me/data", headers=again).get_json()
    assert data["resident"]["id"] != old_id
    assert data["cases_reported"] == [] and data["subscriptions"] == []
    assert client.get(f"/api/v1/cases/{number}", headers=again).status_code == 404


def test_erasing_a_finished_case_redacts_the_residents_comment_everywhere(app, client, db, sign_in, api_settings):
    staff_support.setup_area(app)
    me = sign_in("oMini_me")
    with db.session() as s:
        resident = s.get(Resident, api.resident_id(db, "oMini_me"))
        case = privacy.finished_case(s, api_settings, resident)
        number = case.number
        s.commit()
    staff = staff_support.token(client, "center")
    before = client.get(f"/api/v1/staff/cases/{number}", headers=staff).get_data(as_text=True)
    assert privacy.PHONE in before  # staff read the comment while the resident is on record

    assert client.delete("/api/v1/me", headers=me).status_code == 200

    after = client.get(f"/api/v1/staff/cases/{number}", headers=staff)
    timeline = after.get_json()["timeline"]
    assert privacy.PHONE not in after.get_data(as_text=True)
    assert [e["note"] for e in timeline if e["action"] == "evaluate"] == ["（居民填写的内容已按个人信息保护规定删除）"]
    assert timeline[-1]["action"] == REDACTED
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.anonymised_at is not None and case.rating_comment is None and case.contact_phone is None
        # The timeline was appended to, never edited: the original entry is still there, shown redacted.
        evaluate = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "evaluate"))
        assert evaluate.note == privacy.COMMENT
