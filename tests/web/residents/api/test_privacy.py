"""The privacy notice in the mini-program, agreeing to it, and reports that need it (PIPL art. 13(3), 29)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Case, CaseEvent, PrivacyConsent
from tests.support import images
from tests.support.api import ALL_SCOPES, agree, assert_error, count, nothing_stored, post_report, resident_id

pytestmark = pytest.mark.usefixtures("catalogue")

NO_PLACE = {"lat": None, "lng": None, "coord_system": None}


def consents(db) -> list[tuple[str, list[str], str]]:
    with db.session() as s:
        rows = s.scalars(select(PrivacyConsent).order_by(PrivacyConsent.id))
        return [(row.version, row.scopes, row.channel) for row in rows]


def nothing_at_all(db, settings) -> bool:
    return nothing_stored(db, settings) and count(db, PrivacyConsent) == 0


def intake_privacy(db) -> dict:
    with db.session() as s:
        event = s.scalar(select(CaseEvent).where(CaseEvent.action == "report"))
        return event.data["privacy"]


def test_the_notice_names_its_version_address_and_the_district_s_own_parts(client, api_settings):
    body = client.get("/api/v1/privacy").get_json()
    assert body["version"] == api_settings.privacy_notice_version == "2026-12"
    assert body["url"] == f"{api_settings.public_base_url}/privacy"
    text = body["text"]
    for part in (
        api_settings.privacy_controller_name,
        api_settings.privacy_contact,
        f"{api_settings.retention_case_days} 天",
        f"{api_settings.retention_checkin_days} 天",
        f"{api_settings.retention_access_log_days} 天",
        "2026-12",
    ):
        assert part in text, part
    assert [scope["code"] for scope in body["scopes"]] == ALL_SCOPES


def test_agreeing_is_recorded_with_its_version_scopes_and_time(client, db, sign_in):
    headers = sign_in(agree=False)
    assert client.get("/api/v1/privacy/consents", headers=headers).get_json()["agreed"] is False
    state = agree(client, headers, scopes=["location", "phone", "location"])
    assert state["agreed"] and state["version"] == "2026-12" and state["scopes"] == ["location", "phone"]
    assert state["agreed_at"]
    assert consents(db) == [("2026-12", ["location", "phone"], "miniprogram")]
    # Fewer scopes later withdraw the others; the earlier row stays as history.
    assert agree(client, headers, scopes=[])["scopes"] == []
    assert consents(db)[-1] == ("2026-12", [], "miniprogram") and count(db, PrivacyConsent) == 2


def test_an_unknown_scope_or_a_stale_version_is_400_and_records_nothing(client, db, sign_in, api_settings):
    headers = sign_in(agree=False)
    unknown = client.post(
        "/api/v1/privacy/consents", json={"version": "2026-12", "scopes": ["location", "face"]}, headers=headers
    )
    assert "face" in assert_error(unknown, 400, "invalid")["message"]
    stale = client.post("/api/v1/privacy/consents", json={"version": "2025-01", "scopes": []}, headers=headers)
    assert "2026-12" in assert_error(stale, 400, "stale_version")["message"]
    assert count(db, PrivacyConsent) == 0


def test_a_report_before_agreeing_is_428_and_stores_nothing(client, db, sign_in, api_settings):
    headers = sign_in(agree=False)
    error = assert_error(post_report(client, headers), 428, "consent_required")
    assert error["version"] == "2026-12"
    assert nothing_at_all(db, api_settings)


def test_privacy_version_with_the_report_acknowledges_the_notice(client, db, sign_in, checkpoint):
    headers = sign_in(agree=False)
    response = post_report(client, headers, checkpoint=checkpoint["code"], privacy_version="2026-12", **NO_PLACE)
    assert response.status_code == 201, response.get_json()
    assert consents(db) == [("2026-12", [], "miniprogram")]
    assert intake_privacy(db) == {"version": "2026-12", "scopes": []}
    # Acknowledged once is enough: the next report needs no version and records no second row.
    again = post_report(client, headers, checkpoint=checkpoint["code"], **NO_PLACE)
    assert again.status_code == 201 and count(db, PrivacyConsent) == 1


def test_a_stale_privacy_version_with_the_report_is_400_and_stores_nothing(client, db, sign_in, api_settings):
    headers = sign_in(agree=False)
    assert_error(post_report(client, headers, privacy_version="2020-01"), 400, "stale_version")
    assert nothing_at_all(db, api_settings)


def test_a_precise_position_needs_the_location_scope(client, db, sign_in, api_settings, checkpoint):
    headers = sign_in(agree=False)
    agree(client, headers, scopes=["phone"])
    error = assert_error(post_report(client, headers), 428, "consent_required")
    assert error["scopes"] == ["location"] and "精确位置" in error["message"]
    assert nothing_stored(db, api_settings)
    # The checkpoint's own position needs no separate consent.
    assert post_report(client, headers, checkpoint=checkpoint["code"], **NO_PLACE).status_code == 201
    agree(client, headers, scopes=["location"])
    assert post_report(client, headers).status_code == 201
    assert count(db, Case) == 2


def test_a_photo_s_exif_position_is_used_only_when_asked_and_consented(client, db, sign_in, api_settings):
    photos = [images.photo_with_exif(640, 480, gps=(31.8123, 117.2345))]
    headers = sign_in(agree=False)
    agree(client, headers, scopes=["location"])
    # Not asked: the EXIF position is not read, so the report has no place.
    unasked = post_report(client, headers, photos=photos, **NO_PLACE)
    assert "lat" in assert_error(unasked, 400, "invalid")["fields"]
    # Asked, without the photo_location scope: refused before anything is kept.
    asked = post_report(client, headers, photos=photos, use_photo_location="true", **NO_PLACE)
    assert assert_error(asked, 428, "consent_required")["scopes"] == ["photo_location"]
    assert nothing_stored(db, api_settings)
    agree(client, headers, scopes=["photo_location"])
    done = post_report(client, headers, photos=photos, use_photo_location="true", **NO_PLACE)
    assert done.status_code == 201, done.get_json()
    with db.session() as s:
        case = s.scalar(select(Case))
        assert case.lat == pytest.approx(31.8123, abs=1e-6) and case.location_label == "照片拍摄位置"
    assert intake_privacy(db) == {"version": "2026-12", "scopes": ["photo_location"]}


def test_a_new_notice_version_asks_again(client, db, sign_in, api_settings, make_app):
    headers = sign_in()  # agreed to 2026-12, every scope
    assert post_report(client, headers).status_code == 201
    newer = make_app(api_settings.replace(privacy_notice_version="2027-03")).test_client()
    error = assert_error(post_report(newer, headers), 428, "consent_required")
    assert error["version"] == "2027-03"
    state = newer.get("/api/v1/privacy/consents", headers=headers).get_json()
    assert state["agreed"] is False and state["agreed_version"] == "2026-12" and state["scopes"] == []
    # Acknowledging the new notice with a report does not carry the old separate consents over.
    error = assert_error(post_report(newer, headers, privacy_version="2027-03"), 428, "consent_required")
    assert error["scopes"] == ["location"]
    assert count(db, Case) == 1 and count(db, PrivacyConsent) == 1
    agree(newer, headers)
    assert post_report(newer, headers).status_code == 201
    assert consents(db)[-1] == ("2027-03", sorted(ALL_SCOPES), "miniprogram")


def test_someone_else_s_agreement_does_not_count(client, sign_in):
    agree(client, sign_in("oMini_someone_else"))
    assert_error(post_report(client, sign_in(agree=False)), 428, "consent_required")


@pytest.mark.real_services("postgres")
def test_a_resident_s_consents_go_with_them(client, db, sign_in):
    agree(client, sign_in())
    with db.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("DELETE FROM residents WHERE id = :id"), {"id": resident_id(db)})
    assert count(db, PrivacyConsent) == 0
