"""POST /api/v1/reports: a case from the mini-program, once per client request id; bad input stores nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core.glossary import CaseSource, CoordSystem
from core.models import Case, OutboxMessage, Photo
from tests.support import images
from tests.support.api import (
    MAJOR_CATEGORY,
    SUB_CATEGORY,
    assert_error,
    count,
    nothing_stored,
    post_report,
    resident_id,
    upload_files,
)
from tests.support.storage import store_of

pytestmark = pytest.mark.usefixtures("catalogue")


def test_a_report_becomes_a_case_of_the_resident(client, db, resident_headers, api_settings):
    photos = [images.photo_with_exif(800, 600), images.small_png()]
    response = post_report(client, resident_headers, photos=photos, anonymous="true")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    with db.session() as s:
        case = s.scalar(select(Case))
        assert body == {
            "number": case.number,
            "tracking_url": f"{api_settings.public_base_url}/t/{case.tracking_token}",
        }
        assert case.source == CaseSource.MINIPROGRAM and case.intake_key is None and case.anonymous
        assert case.reporter_id == resident_id(db) and [r.id for r in case.followers] == [case.reporter_id]
        assert (case.lat, case.lng, case.coord_system) == (31.8205, 117.2272, CoordSystem.GCJ02)
        assert case.category.code == SUB_CATEGORY and case.description == "小区东门垃圾堆了三天"
        stored = s.scalars(select(Photo).order_by(Photo.id)).all()
        assert [p.upload_path.rsplit(".", 1)[1] for p in stored] == ["jpg", "png"]
        assert s.scalar(select(OutboxMessage).where(OutboxMessage.topic == "photo.fetch")) is not None
        # Each photo is an upload on disk until the photo job has made its clean copy.
        # (Read twice: in the embedded mode the job may finish between the read and the look.)
        for photo in stored:
            present = []
            for _ in range(2):
                s.refresh(photo)
                present.append(any(store_of(api_settings).exists(p) for p in (photo.upload_path, photo.path) if p))
            assert any(present)
    tracking = client.get(body["tracking_url"].removeprefix(api_settings.public_base_url))
    assert tracking.status_code == 200 and case.number in tracking.get_data(as_text=True)


def test_the_same_client_request_id_makes_one_case_and_keeps_one_set_of_files(
    client, db, resident_headers, api_settings
):
    first = post_report(client, resident_headers, client_request_id="req-0001")
    files = upload_files(api_settings)
    again = post_report(client, resident_headers, client_request_id="req-0001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert count(db, Case) == 1 and count(db, Photo) == 1
    assert upload_files(api_settings) == files and len(files) <= 1
    with db.session() as s:
        assert s.scalar(select(Case.intake_key)) == f"mp:{resident_id(db)}:req-0001"
    # Another request id is another report.
    assert post_report(client, resident_headers, client_request_id="req-0002").status_code == 201
    assert count(db, Case) == 2


def test_another_resident_reusing_a_request_id_gets_a_case_of_their_own(client, db, sign_in):
    mine = post_report(client, sign_in("oMini_1"), client_request_id="same")
    theirs = post_report(client, sign_in("oMini_2"), client_request_id="same")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.get_json()["number"] != theirs.get_json()["number"]


def test_a_report_at_a_checkpoint_takes_its_place(client, db, resident_headers, checkpoint):
    response = post_report(
        client, resident_headers, checkpoint=checkpoint["code"], lat=None, lng=None, coord_system=None
    )
    assert response.status_code == 201, response.get_json()
    with db.session() as s:
        case = s.scalar(select(Case))
        assert case.checkpoint_id == checkpoint["id"] and case.grid is not None
        assert (case.lat, case.lng, case.coord_system) == (31.8205, 117.2272, CoordSystem.GCJ02)


def test_asked_to_the_first_photos_exif_gps_is_used_as_wgs84(client, db, resident_headers):
    photos = [images.photo_with_exif(640, 480, gps=(31.8123, 117.2345)), images.photo_with_exif(640, 480, gps=(1, 1))]
    response = post_report(
        client, resident_headers, photos=photos, lat=None, lng=None, coord_system=None, use_photo_location="true"
    )
    assert response.status_code == 201, response.get_json()
    with db.session() as s:
        case = s.scalar(select(Case))
        assert case.coord_system == CoordSystem.WGS84 and case.location_label == "照片拍摄位置"
        assert case.lat == pytest.approx(31.8123, abs=1e-6) and case.lng == pytest.approx(117.2345, abs=1e-6)


def test_without_any_place_nothing_is_stored(client, db, resident_headers, api_settings):
    photos = [images.photo_with_exif(640, 480, gps=None)]
    response = post_report(client, resident_headers, photos=photos, lat=None, lng=None, coord_system=None)
    assert "lat" in assert_error(response, 400, "invalid")["fields"]
    assert nothing_stored(db, api_settings)


def ten_photos() -> list[bytes]:
    return [images.small_png()] * 10


@pytest.mark.parametrize(
    ("photos", "fields", "field"),
    [
        pytest.param([], {}, "photos", id="no-photos"),
        pytest.param(ten_photos(), {}, "photos", id="ten-photos"),
        pytest.param([b"%PDF-1.4 not a photo"], {}, "photos", id="not-an-image"),
        pytest.param([images.small_png(), images.truncated_jpeg()], {}, "photos", id="truncated-jpeg"),
        pytest.param([images.photo_with_exif(100, 100) + b"\0" * (10 * 1024 * 1024)], {}, "photos", id="over-10-mb"),
        pytest.param([images.decompression_bomb()], {}, "photos", id="decompression-bomb"),
        pytest.param(None, {"coord_system": "bd09"}, "coord_system", id="bad-coord-system"),
        pytest.param(None, {"lat": "91"}, "lat", id="lat-out-of-range"),
        pytest.param(None, {"lng": "-180.5"}, "lng", id="lng-out-of-range"),
        pytest.param(None, {"lat": "nan"}, "lat", id="lat-nan"),
        pytest.param(None, {"lng": None}, "lng", id="lat-without-lng"),
        pytest.param(None, {"coord_system": None}, "coord_system", id="position-without-system"),
        pytest.param(None, {"category": "9999"}, "category", id="unknown-category"),
        pytest.param(None, {"category": MAJOR_CATEGORY}, "category", id="major-category"),
        pytest.param(None, {"category": None}, "category", id="no-category"),
        pytest.param(None, {"checkpoint": "1-1-aaaaaaaaaa"}, "checkpoint", id="forged-checkpoint"),
        pytest.param(None, {"description": "很" * 2001}, "description", id="description-too-long"),
        pytest.param(None, {"description": "bad\x00byte"}, "description", id="nul-in-description"),
        pytest.param(None, {"anonymous": "maybe"}, "anonymous", id="bad-anonymous"),
        pytest.param(None, {"client_request_id": "x" * 65}, "client_request_id", id="long-request-id"),
    ],
)
def test_every_validation_error_is_a_400_and_stores_nothing(
    client, db, resident_headers, api_settings, photos, fields, field
):
    response = post_report(client, resident_headers, photos=photos, **fields)
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    assert error["message"].startswith("请求有误")
    assert nothing_stored(db, api_settings)


def test_photos_must_be_files_not_form_values(client, db, resident_headers, api_settings):
    body = {"category": SUB_CATEGORY, "lat": "31.8", "lng": "117.2", "coord_system": "wgs84", "photos": "photo.jpg"}
    response = client.post("/api/v1/reports", data=body, headers=resident_headers, content_type="multipart/form-data")
    assert "photos" in assert_error(response, 400, "invalid")["fields"]
    as_json = client.post("/api/v1/reports", json=body, headers=resident_headers)
    assert "photos" in assert_error(as_json, 400, "invalid")["fields"]
    assert nothing_stored(db, api_settings)


def test_a_replaced_checkpoint_is_refused(client, db, resident_headers, checkpoint, api_settings):
    from core.models import Checkpoint

    with db.session() as s:
        s.get(Checkpoint, checkpoint["id"]).key_version += 1
        s.commit()
    response = post_report(client, resident_headers, checkpoint=checkpoint["code"])
    assert "已更换" in assert_error(response, 400, "invalid")["fields"]["checkpoint"][0]
    assert nothing_stored(db, api_settings)


def test_reporting_needs_a_resident_token(client, db, api_settings):
    assert_error(post_report(client, {}), 401, "unauthorized")
    assert nothing_stored(db, api_settings)


def test_too_many_reports_are_refused_with_429(client, db, resident_headers, monkeypatch):
    from web.residents.api import reports

    monkeypatch.setitem(reports.PER_RESIDENT, "limit", 1)
    assert post_report(client, resident_headers).status_code == 201
    assert_error(post_report(client, resident_headers), 429)
    assert count(db, Case) == 1


def test_a_huge_body_is_a_json_413(client, resident_headers, app, monkeypatch):
    from web import limits

    # The route's own limit (web/limits.py), made small here.
    monkeypatch.setattr(app.view_functions["mini_reports.report"], limits.ATTRIBUTE, 1024)
    data = {"category": SUB_CATEGORY, "photos": [(io.BytesIO(b"x" * 4096), "big.jpg")]}
    response = client.post("/api/v1/reports", data=data, headers=resident_headers, content_type="multipart/form-data")
    assert_error(response, 413)


def test_a_report_is_taken_while_redis_is_down(app, client, db, resident_headers, monkeypatch):
    from redis.exceptions import ConnectionError as RedisDown

    def down(*_args, **_kwargs):
        raise RedisDown("Redis is down")

    # Every Redis round trip of the request fails: the rate limit's and the outbox relay's alike.
    monkeypatch.setattr(app.extensions["gongzhi"].redis, "pipeline", down)
    assert post_report(client, resident_headers).status_code == 201
    assert count(db, Case) == 1
