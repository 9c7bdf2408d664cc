"""The mini-program API's fixtures: an app aimed at the fake WeChat API, residents signed in, a catalogue, a sign."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.models import Case, Photo, Resident
from core.services.catalogue import load_catalogue
from core.services.checkpoints import public_code
from core.settings import Settings
from tests import factories, images

SUB_CATEGORY = "0101"  # 暴露垃圾
OTHER_SUB_CATEGORY = "0103"  # 垃圾桶满溢
MAJOR_CATEGORY = "01"
_codes = itertools.count(1)


@pytest.fixture
def api_settings(settings: Settings, fake_wechat) -> Settings:
    fake_wechat.apps[settings.wechat_mini_app_id] = settings.wechat_mini_app_secret
    return settings.replace(wechat_api_base=fake_wechat.base_url, wechat_timeout_seconds=2.0)


@pytest.fixture
def app(api_settings: Settings, make_app):
    return make_app(api_settings)


@pytest.fixture
def db(app):
    return app.extensions["gongzhi"].database


@pytest.fixture
def catalogue(db, api_settings: Settings) -> None:
    with db.session() as s:
        load_catalogue(s, api_settings.catalogue_file)
        s.commit()


@pytest.fixture
def sign_in(client, fake_wechat) -> Callable[..., dict[str, str]]:
    """Sign a mini-program user in through the fake jscode2session; returns the Authorization header."""

    def sign(openid: str = "oMini_resident_1", unionid: str | None = None) -> dict[str, str]:
        code = f"code-{next(_codes)}"
        fake_wechat.add_login_code(code, openid, f"session-key-{code}", unionid=unionid)
        response = client.post("/api/v1/session", json={"code": code})
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return sign


@pytest.fixture
def resident_headers(sign_in) -> dict[str, str]:
    return sign_in()


@pytest.fixture
def checkpoint(db, api_settings: Settings) -> dict[str, object]:
    """A checkpoint in a base grid; its public code and sign URL."""
    with db.session() as s:
        point = factories.gate_checkpoint(s, lat=31.8205, lng=117.2272)
        code = public_code(api_settings, point)
        return {"id": point.id, "code": code, "url": f"{api_settings.public_base_url}/q/{code}"}


def resident_id(db, mini_openid: str = "oMini_resident_1") -> int:
    with db.session() as s:
        return s.scalar(select(Resident.id).where(Resident.mini_openid == mini_openid))


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def upload_files(settings: Settings) -> list[Path]:
    folder = Path(settings.media_dir) / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


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


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is `status` in the API's error shape, its message in Chinese; returns the error."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert isinstance(error["message"], str) and not error["message"].isascii(), error
    if code is not None:
        assert error["code"] == code, error
    return error
