"""The mini-program API: categories, report bodies, counts of what is stored, and its error shape."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from core.models import Case, Photo, Resident
from core.settings import Settings
from tests.support import images
from tests.support.storage import keys

SUB_CATEGORY = "0101"  # 暴露垃圾
OTHER_SUB_CATEGORY = "0103"  # 垃圾桶满溢
MAJOR_CATEGORY = "01"
ALL_SCOPES = ["location", "photo_location", "phone", "platform_sharing"]


def resident_id(db, mini_openid: str = "oMini_resident_1") -> int:
    with db.session() as s:
        return s.scalar(select(Resident.id).where(Resident.mini_openid == mini_openid))


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def upload_files(settings: Settings) -> list[str]:
    """The keys kept under uploads/ in the store (a directory or a bucket)."""
    return keys(settings, "uploads/")


def nothing_stored(db, settings: Settings) -> bool:
    return count(db, Case) == 0 and count(db, Photo) == 0 and upload_files(settings) == []


def report_form(photos: list[bytes] | None = None, **fields: object) -> dict[str, object]:
    """A multipart body for POST /api/v1/reports (a place and a category unless overridden)."""
    data: dict[str, object] = {
        "category": SUB_CATEGORY,
        "description": "小区东门垃圾堆了三天",
        "lat": "31.8205",
        "lng": "117.2272",
        "coord_system": "gcj02",
    }
    data.update(fields)
    data = {key: value for key, value in data.items() if value is not None}
    photos = [images.photo_with_exif(800, 600)] if photos is None else photos
    if photos:
        data["photos"] = [(io.BytesIO(photo), f"p{n}.jpg") for n, photo in enumerate(photos)]
    return data


def post_report(client, headers: dict[str, str], photos: list[bytes] | None = None, **fields: object):
    return client.post(
        "/api/v1/reports", data=report_form(photos, **fields), headers=headers, content_type="multipart/form-data"
    )


def agree(client, headers: dict[str, str], scopes: list[str] | None = None) -> dict:
    """The signed-in resident agrees to the current privacy notice (every scope unless told); returns the state."""
    version = client.get("/api/v1/privacy").get_json()["version"]
    body = {"version": version, "scopes": ALL_SCOPES if scopes is None else scopes}
    response = client.post("/api/v1/privacy/consents", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is `status` in the API's error shape, its message in Chinese; returns the error."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert isinstance(error["message"], str) and not error["message"].isascii(), error
    if code is not None:
        assert error["code"] == code, error
    return error
