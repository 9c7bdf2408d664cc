"""A resident's own cases: the list, one case with its timeline and photos, rating and reopening; others' are 404."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.glossary import CaseStatus, CoordSystem, PhotoStatus
from core.media_urls import media_url
from core.models import Case, Photo, Resident
from core.models.base import utcnow
from tests.support import factories, images
from tests.support.api import assert_error
from tests.support.storage import store_of


def make_case(db, settings, mini_openid: str | None, status: CaseStatus = CaseStatus.REPORTED, **changes) -> str:
    """A case reported by the resident signed in as `mini_openid` (None: by someone off the API)."""
    with db.session() as s:
        reporter = s.scalar(select(Resident).where(Resident.mini_openid == mini_openid)) if mini_openid else None
        if reporter is None:
            reporter = factories.resident(s, openid=f"oOther_{utcnow().timestamp()}")
        case = factories.case(s, settings, reporter=reporter, status=status)
        for name, value in changes.items():
            setattr(case, name, value)
        s.commit()
        return case.number


@pytest.fixture
def me(sign_in) -> dict[str, str]:
    return sign_in("oMini_me")


@pytest.fixture
def other(sign_in) -> dict[str, str]:
    return sign_in("oMini_other")


def test_the_list_has_my_reported_and_followed_cases_only_newest_first(client, db, api_settings, me, other):
    mine = [make_case(db, api_settings, "oMini_me") for _ in range(3)]
    theirs = make_case(db, api_settings, "oMini_other")
    followed = make_case(db, api_settings, None)
    assert client.post(f"/api/v1/cases/{followed}/follow", headers=me).status_code == 200
    body = client.get("/api/v1/cases?per_page=2", headers=me).get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 2, 4)
    second = client.get("/api/v1/cases?per_page=2&page=2", headers=me).get_json()
    numbers = [c["number"] for c in body["cases"] + second["cases"]]
    assert numbers == [followed, *reversed(mine)]
    assert [c["is_reporter"] for c in body["cases"]] == [False, True]
    assert theirs not in numbers
    assert client.get("/api/v1/cases", headers=other).get_json()["total"] == 1
    first = body["cases"][0]
    assert set(first) == {"number", "status", "status_label", "category", "place", "reported_at", "is_reporter"}


def test_the_list_filters_by_status_and_refuses_bad_paging(client, db, api_settings, me):
    make_case(db, api_settings, "oMini_me")
    closed = make_case(db, api_settings, "oMini_me", CaseStatus.CLOSED, closed_at=utcnow())
    body = client.get("/api/v1/cases?status=closed", headers=me).get_json()
    assert body["total"] == 1 and body["cases"][0]["number"] == closed
    for query in ["status=fixed", "page=0", "per_page=51", "page=abc", "page=99999999999999999999"]:
        assert_error(client.get(f"/api/v1/cases?{query}", headers=me), 400, "invalid")


def _photos(db, settings, number: str) -> None:
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        store = store_of(settings)
        store.put("photos/2026/11/1-abc.jpg", b"clean photo")
        store.put("photos/2026/11/1-abc-thumb.jpg", b"clean thumb")
        store.put("uploads/raw.jpg", images.photo_with_exif(64, 48))
        ready = Photo(case_id=case.id, status=PhotoStatus.READY, path="photos/2026/11/1-abc.jpg", width=64, height=48)
        ready.thumb_path = "photos/2026/11/1-abc-thumb.jpg"
        s.add_all([ready, Photo(case_id=case.id, upload_path="uploads/raw.jpg")])
        s.commit()


@pytest.mark.each_store
def test_one_case_with_timeline_and_ready_photos_only(client, db, api_settings, me):
    number = make_case(
        db, api_settings, "oMini_me", description="我家楼下 3 栋路灯不亮", coord_system=CoordSystem.WGS84
    )
    _photos(db, api_settings, number)
    response = client.get(f"/api/v1/cases/{number.lower()}", headers=me)
    assert response.status_code == 200
    body = response.get_json()
    assert body["number"] == number and body["status_label"] == "已上报" and body["is_reporter"]
    assert body["description"] == "我家楼下 3 栋路灯不亮"
    assert body["position"] == {"lat": 31.8, "lng": 117.3, "coord_system": "wgs84"}
    assert [entry["status_label"] for entry in body["timeline"]] == ["已上报"]
    assert body["photos_pending"] == 1 and len(body["photos"]) == 1
    [photo] = body["photos"]
    base = api_settings.public_base_url
    assert photo["url"].startswith(f"{base}/media/") and (photo["width"], photo["height"]) == (64, 48)
    full = client.get(photo["url"].removeprefix(base))
    assert full.status_code == 200 and full.data == b"clean photo" and full.mimetype == "image/jpeg"
    assert "private" in full.headers["Cache-Control"]
    assert client.get(photo["thumb_url"].removeprefix(base)).data == b"clean thumb"
    # A photo whose file has gone (a store emptied by mistake) is a 404, not a 500.
    store_of(api_settings).delete("photos/2026/11/1-abc.jpg")
    assert client.get(photo["url"].removeprefix(base)).status_code == 404


@pytest.mark.each_store
def test_media_serves_ready_photos_only_never_uploads_or_other_files(client, db, api_settings, me):
    number = make_case(db, api_settings, "oMini_me")
    _photos(db, api_settings, number)
    (Path(api_settings.media_dir).parent / "secret.txt").write_text("not for you")
    base = api_settings.public_base_url
    for path in ["uploads/raw.jpg", "../secret.txt", "photos/2026/11/../../../secret.txt", "/etc/passwd", ""]:
        assert client.get(media_url(api_settings, path).removeprefix(base)).status_code == 404, path
    good = media_url(api_settings, "photos/2026/11/1-abc.jpg").removeprefix(base)
    assert client.get(good[:-2] + ("AA" if not good.endswith("AA") else "BB")).status_code == 404  # tampered
    assert client.get("/media/photos/2026/11/1-abc.jpg").status_code == 404  # the bare path opens nothing
    with db.session() as s:
        s.scalar(select(Photo).where(Photo.path.is_not(None))).status = PhotoStatus.FAILED
        s.commit()
    assert client.get(good).status_code == 404


def test_another_residents_case_is_404_everywhere(client, db, api_settings, me, other):
    theirs = make_case(db, api_settings, "oMini_other", CaseStatus.CLOSED, closed_at=utcnow())
    for method, path, body in [
        ("get", f"/api/v1/cases/{theirs}", None),
        ("post", f"/api/v1/cases/{theirs}/evaluation", {"rating": 5}),
        ("post", f"/api/v1/cases/{theirs}/reopen", {"reason": "没修好"}),
        ("post", f"/api/v1/cases/{theirs}/follow", None),  # closed: not open to following either
        ("get", "/api/v1/cases/GZ20990101-999999", None),
        ("get", "/api/v1/cases/%00", None),
        ("get", f"/api/v1/cases/{'G' * 300}", None),
    ]:
        response = getattr(client, method)(path, headers=me, json=body)
        error = assert_error(response, 404, "not_found")
        assert "other" not in error["message"]
    with db.session() as s:
        assert s.scalar(select(Case.status).where(Case.number == theirs)) == CaseStatus.CLOSED


def test_a_follower_sees_the_case_but_not_what_the_reporter_wrote(client, db, api_settings, me):
    number = make_case(db, api_settings, None, description="联系我 13800000000")
    followed = client.post(f"/api/v1/cases/{number}/follow", headers=me)
    assert followed.status_code == 200
    body = client.get(f"/api/v1/cases/{number}", headers=me).get_json()
    assert body["is_reporter"] is False and body["description"] is None
    assert "13800000000" not in client.get(f"/api/v1/cases/{number}", headers=me).get_data(as_text=True)


def test_following_is_idempotent_and_only_for_open_cases(client, db, api_settings, me):
    number = make_case(db, api_settings, None, CaseStatus.DISPATCHED)
    for _ in range(2):
        assert client.post(f"/api/v1/cases/{number}/follow", headers=me).status_code == 200
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert sorted(r.mini_openid or "" for r in case.followers) == ["", "oMini_me"]
    closed = make_case(db, api_settings, None, CaseStatus.CLOSED, closed_at=utcnow())
    # Someone else's closed case is no business of ours: the same 404 as a missing one.
    assert_error(client.post(f"/api/v1/cases/{closed}/follow", headers=me), 404, "not_found")
    assert_error(client.post("/api/v1/cases/GZ20990101-000001/follow", headers=me), 404, "not_found")
    assert client.get("/api/v1/cases", headers=me).get_json()["total"] == 1


def test_rating_a_closed_case_once(client, db, api_settings, me):
    number = make_case(db, api_settings, "oMini_me", CaseStatus.CLOSED, closed_at=utcnow())
    before = client.get(f"/api/v1/cases/{number}", headers=me).get_json()
    assert before["can_evaluate"] and before["can_reopen"]
    response = client.post(f"/api/v1/cases/{number}/evaluation", headers=me, json={"rating": 5, "comment": "很及时"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "evaluated" and body["rating"] == 5 and not body["can_evaluate"]
    again = assert_error(client.post(f"/api/v1/cases/{number}/evaluation", headers=me, json={"rating": 4}), 400)
    assert "已评价" in again["message"]


@pytest.mark.parametrize("rating", [0, 6, 4.5, "5", True, None, "很好"])
def test_a_bad_rating_is_a_400_and_changes_nothing(client, db, api_settings, me, rating):
    number = make_case(db, api_settings, "oMini_me", CaseStatus.CLOSED, closed_at=utcnow())
    error = assert_error(client.post(f"/api/v1/cases/{number}/evaluation", headers=me, json={"rating": rating}), 400)
    assert error["code"] == "invalid" and "rating" in error["fields"]
    with db.session() as s:
        assert s.scalar(select(Case.status).where(Case.number == number)) == CaseStatus.CLOSED


def test_rating_rules_of_the_service_are_400_403(client, db, api_settings, me):
    open_case = make_case(db, api_settings, "oMini_me", CaseStatus.DISPATCHED)
    assert (
        "办结后"
        in assert_error(client.post(f"/api/v1/cases/{open_case}/evaluation", headers=me, json={"rating": 3}), 400)[
            "message"
        ]
    )
    followed = make_case(db, api_settings, None, CaseStatus.HANDLED)
    client.post(f"/api/v1/cases/{followed}/follow", headers=me)
    with db.session() as s:
        case = s.scalar(select(Case).where(Case.number == followed))
        case.status, case.closed_at = CaseStatus.CLOSED, utcnow()
        s.commit()
    assert_error(client.post(f"/api/v1/cases/{followed}/evaluation", headers=me, json={"rating": 3}), 403, "forbidden")
    assert_error(client.post(f"/api/v1/cases/{followed}/evaluation", headers=me, data="x"), 400, "invalid")


def test_reopening_within_seven_days(client, db, api_settings, me):
    number = make_case(db, api_settings, "oMini_me", CaseStatus.CLOSED, closed_at=utcnow())
    response = client.post(f"/api/v1/cases/{number}/reopen", headers=me, json={"reason": "灯还是不亮"})
    assert response.status_code == 200 and response.get_json()["status"] == "dispatched"
    assert response.get_json()["timeline"][-1]["text"] == "群众反映问题未解决，已重新派遣"
    late = make_case(db, api_settings, "oMini_me", CaseStatus.CLOSED, closed_at=utcnow() - timedelta(days=8))
    assert "超过 7 天" in assert_error(client.post(f"/api/v1/cases/{late}/reopen", headers=me, json={}), 400)["message"]
    too_long = {"reason": "很" * 501}
    assert (
        "reason" in assert_error(client.post(f"/api/v1/cases/{late}/reopen", headers=me, json=too_long), 400)["fields"]
    )
