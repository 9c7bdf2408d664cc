"""The privacy tests' fixtures: an app aimed at the fake WeChat API, its database, signing a mini-program user in."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from core.settings import Settings
from tests.support import api

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
def sign_in(client, fake_wechat) -> Callable[..., dict[str, str]]:
    """Sign a mini-program user in through the fake jscode2session, agreeing to the privacy notice (every scope)
    unless `agree` is False; returns the Authorization header."""

    def sign(openid: str = "oMini_resident_1", unionid: str | None = None, agree: bool = True) -> dict[str, str]:
        code = f"privacy-code-{next(_codes)}"
        fake_wechat.add_login_code(code, openid, f"session-key-{code}", unionid=unionid)
        response = client.post("/api/v1/session", json={"code": code})
        assert response.status_code == 200, response.get_json()
        headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
        if agree:
            api.agree(client, headers)
        return headers

    return sign


@pytest.fixture
def catalogue(db, api_settings: Settings) -> None:
    from core.services.catalogue import load_catalogue

    with db.session() as s:
        load_catalogue(s, api_settings.catalogue_file)
        s.commit()
