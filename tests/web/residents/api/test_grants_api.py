"""Micro-grants in the mini-program API: rounds, drafts with budgets and caps, submit, edit, support, reports."""

from __future__ import annotations

import io

import pytest
import requests
from sqlalchemy import select

from core.grants import applications, decisions
from core.grants.terms import GrantStatus
from core.models import GrantApplication, GrantFile
from tests.support import grants as gh
from tests.support import images
from tests.support.api import assert_error, resident_id
from tests.support.storage import store_of


@pytest.fixture
def grant_round(db) -> int:
    with db.session() as s:
        r = gh.open_round(s)
        s.commit()
        return r.id


def body(round_id: int, **changes) -> dict:
    data = {
        "round_id": round_id,
        "title": "桂花园楼道清洁行动",
        "category": "小区维护",
        "summary": "每周六组织楼道清洁",
        "beneficiaries": "3 栋 120 户",
        "schedule": "3 月至 8 月",
        "group_name": "桂花园志愿队",
        "team": [
            {"name": "张阿姨", "role": "队长", "me": True},
            {"name": "李", "role": "会计", "phone": "13900001111"},
        ],
        "budget_lines": [{"item": "清洁工具", "quantity": 10, "unit_price_fen": 4550}],
    }
    data.update(changes)
    return data


def test_rounds_are_listed(client, grant_round, resident_headers):
    rounds = client.get("/api/v1/grants/rounds", headers=resident_headers).get_json()["rounds"]
    assert [r["id"] for r in rounds] == [grant_round]
    assert rounds[0]["accepting"] is True
    assert [(s["name"], s["share_percent"]) for s in rounds[0]["sources"]] == [
        ("方兴社区", 50.0),
        ("合肥市慈善基金会", 50.0),
    ]
    assert (
        client.get(f"/api/v1/grants/rounds/{grant_round}", headers=resident_headers).get_json()["categories"][0]
        == "小区维护"
    )
    assert_error(client.get("/api/v1/grants/rounds/999999", headers=resident_headers), 404, "not_found")
    assert_error(client.get("/api/v1/grants/rounds/abc", headers=resident_headers), 404, "not_found")
    assert_error(client.get("/api/v1/grants/rounds"), 401)


def test_a_draft_computes_its_budget_and_links_the_applicant_in_the_team(client, db, grant_round, resident_headers):
    answer = client.post("/api/v1/grants/applications", json=body(grant_round), headers=resident_headers)
    assert answer.status_code == 201, answer.get_json()
    draft = answer.get_json()
    assert draft["requested_fen"] == 45_500 and draft["budget_lines"][0]["total_fen"] == 45_500
    assert draft["status"] == "draft" and draft["editable"] is True
    assert draft["team"][0]["resident_id"] == resident_id(db)
    assert "resident_id" not in draft["team"][1]


def test_bad_drafts_are_refused_and_store_nothing(client, db, grant_round, resident_headers):
    over = body(grant_round, budget_lines=[{"item": "x", "quantity": 1, "unit_price_fen": 3_000_001}])
    error = assert_error(client.post("/api/v1/grants/applications", json=over, headers=resident_headers), 400)
    assert "超过单项上限" in error["message"]
    for bad in (
        body(grant_round, category="打麻将"),
        body(grant_round, budget_lines=[]),
        body(grant_round, budget_lines=[{"item": "x", "quantity": 1.5, "unit_price_fen": 1}]),
        body(grant_round, title=""),
    ):
        assert_error(client.post("/api/v1/grants/applications", json=bad, headers=resident_headers), 400)
    assert_error(client.post("/api/v1/grants/applications", json=body(999999), headers=resident_headers), 404)
    assert_error(client.post("/api/v1/grants/applications", json=body(grant_round)), 401)
    with db.session() as s:
        assert s.scalars(select(GrantApplication)).all() == []


def test_submit_edit_only_when_asked_then_resubmit_and_withdraw(client, db, grant_round, resident_headers, sign_in):
    draft = client.post("/api/v1/grants/applications", json=body(grant_round), headers=resident_headers).get_json()
    url = f"/api/v1/grants/applications/{draft['id']}"
    edited = client.put(url, json=body(grant_round, title="改名了"), headers=resident_headers).get_json()
    assert edited["title"] == "改名了"
    submitted = client.post(f"{url}/submit", headers=resident_headers).get_json()
    assert (submitted["status"], submitted["status_label"]) == ("submitted", "已提交，等待评审")
    assert_error(client.put(url, json=body(grant_round), headers=resident_headers), 403, "forbidden")
    assert_error(client.post(f"{url}/submit", headers=resident_headers), 409, "forbidden_transition")
    with db.session() as s:
        staff = gh.staff_user(s)
        app = s.get(GrantApplication, draft["id"])
        applications.start_review(s, app, staff=staff)
        applications.ask_for_information(s, app, staff=staff, note="请补充预算明细")
        s.commit()
    asked = client.get(url, headers=resident_headers).get_json()
    assert asked["status_label"] == "请补充材料" and asked["timeline"][-1]["note"] == "请补充预算明细"
    assert client.put(url, json=body(grant_round, summary="补充"), headers=resident_headers).status_code == 200
    assert client.post(f"{url}/submit", headers=resident_headers).get_json()["status"] == "resubmitted"
    other = sign_in("oMini_other")
    assert_error(client.get(url, headers=other), 404)
    assert_error(client.post(f"{url}/withdraw", json={}, headers=other), 404)
    gone = client.post(f"{url}/withdraw", json={"reason": "人手不够"}, headers=resident_headers).get_json()
    assert gone["status"] == "withdrawn"
    assert [e["status"] for e in gone["timeline"]] == [
        "submitted",
        "in_review",
        "info_requested",
        "resubmitted",
        "withdrawn",
    ]
    assert (
        client.get("/api/v1/grants/applications", headers=resident_headers).get_json()["applications"][0]["id"]
        == draft["id"]
    )


def test_residents_support_submitted_applications_once(client, grant_round, resident_headers, sign_in):
    draft = client.post("/api/v1/grants/applications", json=body(grant_round), headers=resident_headers).get_json()
    support = f"/api/v1/grants/applications/{draft['id']}/support"
    assert_error(client.post(support, headers=resident_headers), 404)  # a draft is not public
    client.post(f"/api/v1/grants/applications/{draft['id']}/submit", headers=resident_headers)
    fan = sign_in("oMini_fan")
    assert client.post(support, headers=fan).get_json() == {"supports": 1, "new": True}
    assert client.post(support, headers=fan).get_json() == {"supports": 1, "new": False}
    assert client.post(support, headers=resident_headers).get_json() == {"supports": 2, "new": True}
    public = client.get(f"/api/v1/grants/rounds/{grant_round}/applications", headers=fan).get_json()["applications"]
    assert [(a["id"], a["supports"]) for a in public] == [(draft["id"], 2)]
    assert "team" not in public[0] and "13900001111" not in str(public)


@pytest.mark.each_store
def test_photos_are_stored_clean_and_reports_are_filed_after_approval(
    client, db, api_settings, grant_round, resident_headers
):
    draft = client.post("/api/v1/grants/applications", json=body(grant_round), headers=resident_headers).get_json()
    url = f"/api/v1/grants/applications/{draft['id']}"
    photo = images.photo_with_exif(640, 480)
    answer = client.post(
        f"{url}/photos",
        data={"photos": [(io.BytesIO(photo), "a.jpg")]},
        headers=resident_headers,
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.get_json()
    # Kept as uploaded until the worker has made the clean copy; only that is ever listed or served.
    assert (answer.get_json()["photos"], answer.get_json()["photos_pending"]) == ([], 1)
    with db.session() as s:
        [pending] = s.scalars(select(GrantFile)).all()
        assert pending.upload_path.startswith("uploads/") and pending.path is None
        upload = pending.upload_path
        assert store_of(api_settings).exists(upload)
    assert gh.process_grant_photos(client.application) == ["ready"]
    assert not store_of(api_settings).exists(upload)  # the original, EXIF and all, is gone
    answer = client.get(url, headers=resident_headers)
    photo_url = answer.get_json()["photos"][0]
    served = client.get(photo_url.replace(api_settings.public_base_url, ""))
    assert served.status_code == 200 and b"Exif" not in served.data[:200]
    bad = client.post(
        f"{url}/photos",
        data={"photos": [(io.BytesIO(b"not an image"), "a.jpg")]},
        headers=resident_headers,
        content_type="multipart/form-data",
    )
    assert_error(bad, 400, "invalid")
    client.post(f"{url}/submit", headers=resident_headers)
    with db.session() as s:
        staff = gh.staff_user(s)
        app = s.get(GrantApplication, draft["id"])
        applications.start_review(s, app, staff=staff)
        gh.decided(s, app, [gh.member(s, app.round, "m1")], staff)
        decisions.publish(s, app.round, staff=staff)
        s.commit()
    filed = client.post(
        f"{url}/reports",
        data={"text": "第一次清洁完成", "photos": [(io.BytesIO(photo), "r.jpg")]},
        headers=resident_headers,
        content_type="multipart/form-data",
    )
    assert filed.status_code == 201, filed.get_json()
    assert filed.get_json()["reports"][0]["submitted_at"] is not None
    assert gh.process_grant_photos(client.application) == ["ready"]
    with db.session() as s:
        assert len(s.scalars(select(GrantFile)).all()) == 2
    assert client.get(filed.get_json()["photos"][0].replace(api_settings.public_base_url, "")).status_code == 200
    assert client.get("/grants/files/forged").status_code == 404
    assert GrantStatus.APPROVED.value == filed.get_json()["status"]


@pytest.mark.each_store
def test_pdf_attachments_are_kept_for_the_applicant_and_never_public(
    client, db, api_settings, grant_round, resident_headers, make_app, store_kind
):
    draft = client.post("/api/v1/grants/applications", json=body(grant_round), headers=resident_headers).get_json()
    url = f"/api/v1/grants/applications/{draft['id']}/attachments"
    pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    answer = client.post(
        url,
        data={"files": [(io.BytesIO(pdf), "报价单.pdf")]},
        headers=resident_headers,
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.get_json()
    [attachment] = answer.get_json()["attachments"]
    assert attachment["name"] == "报价单.pdf" and answer.get_json()["photos"] == []
    served = client.get(attachment["url"].replace(api_settings.public_base_url, ""))
    assert served.status_code == 200 and served.data == pdf and "attachment" in served.headers["Content-Disposition"]
    if store_kind == "s3":  # with MEDIA_REDIRECT the browser fetches it from the store, still as a download
        redirected = make_app(api_settings.replace(media_redirect=True)).test_client()
        answer = redirected.get(attachment["url"].replace(api_settings.public_base_url, ""))
        assert answer.status_code == 302
        fetched = requests.get(answer.headers["Location"], timeout=10)
        assert fetched.content == pdf and fetched.headers["Content-Type"] == "application/pdf"
        assert fetched.headers["Content-Disposition"].startswith("attachment;")
        assert "%E6%8A%A5%E4%BB%B7%E5%8D%95.pdf" in fetched.headers["Content-Disposition"]
    bad = client.post(
        url,
        data={"files": [(io.BytesIO(b"MZ\x90\x00"), "a.pdf")]},
        headers=resident_headers,
        content_type="multipart/form-data",
    )
    assert "只接受 PDF" in assert_error(bad, 400, "invalid")["fields"]["files"][0]
