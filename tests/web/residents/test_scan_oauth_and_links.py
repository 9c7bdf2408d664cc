"""The sign page's WeChat detour is bound to the session that started it and used once; every link the
resident pages and APIs give out is on PUBLIC_BASE_URL, whatever Host header the request carried."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from core.models import Case
from core.services.checkpoints import public_code
from tests.support import factories, images
from tests.support.scan import form_fields

WECHAT_BROWSER = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile MicroMessenger/8.0.50 NetType/WIFI"
FORGED = "http://evil.example"


@pytest.fixture
def wired(make_app, settings, fake_wechat):
    settings = settings.replace(wechat_api_base=fake_wechat.base_url, wechat_app_secret="real-secret")
    fake_wechat.apps[settings.wechat_app_id] = "real-secret"
    return make_app(settings)


@pytest.fixture
def code(wired, settings) -> str:
    with wired.extensions["gongzhi"].database.session() as s:
        return public_code(settings, factories.gate_checkpoint(s))


def _state(client, code, **kw) -> tuple[str, str]:
    first = client.get(f"/q/{code}", headers={"User-Agent": WECHAT_BROWSER}, **kw)
    assert first.status_code == 302
    query = parse_qs(urlsplit(first.headers["Location"]).query)
    return query["state"][0], query["redirect_uri"][0]


def test_a_state_minted_for_another_session_is_refused(wired, code, fake_wechat):
    state, _ = _state(wired.test_client(), code)
    other = wired.test_client()
    other.get(f"/q/{code}", headers={"User-Agent": WECHAT_BROWSER})  # a session with a state of its own
    fake_wechat.add_login_code("oauth-code-x", "oVictim", "unused")
    answer = other.get("/wechat/oauth", query_string={"code": "oauth-code-x", "state": state})
    assert answer.status_code == 404 and fake_wechat.calls("/sns/oauth2/access_token") == []
    fresh = wired.test_client()  # and a session that started nothing
    assert fresh.get("/wechat/oauth", query_string={"code": "oauth-code-x", "state": state}).status_code == 404


def test_a_state_works_once_even_with_the_old_cookie_replayed(wired, code, fake_wechat):
    client = wired.test_client()
    state, _ = _state(client, code)
    cookie = client.get_cookie("session").value
    fake_wechat.add_login_code("oauth-code-1", "oScanner_1", "unused")
    back = client.get("/wechat/oauth", query_string={"code": "oauth-code-1", "state": state})
    assert back.status_code == 302 and back.headers["Location"] == f"/q/{code}"
    assert client.get("/wechat/oauth", query_string={"code": "oauth-code-1", "state": state}).status_code == 404
    client.set_cookie("session", cookie)  # the cookie from before the return, state still pending in it
    assert client.get("/wechat/oauth", query_string={"code": "oauth-code-1", "state": state}).status_code == 404
    assert len(fake_wechat.calls("/sns/oauth2/access_token")) == 1


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src|action)="([^"]*)"', html)


def test_links_ignore_a_forged_host_header(wired, code, settings, fake_wechat):
    base = settings.public_base_url
    client = wired.test_client()
    _, redirect_uri = _state(client, code, base_url=FORGED)
    assert redirect_uri == f"{base}/wechat/oauth"

    page = client.get(f"/q/{code}", base_url=FORGED)
    fields = form_fields(page)

    sent = client.post(
        f"/q/{code}",
        base_url=FORGED,
        data=fields | {"description": "路灯坏了", "photos": [(io.BytesIO(images.small_png()), "p.png")]},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303 and not sent.headers["Location"].startswith(FORGED)
    with wired.extensions["gongzhi"].database.session() as s:
        tracking = s.scalar(select(Case)).tracking_token
    for path in (f"/q/{code}", f"/t/{tracking}?submitted=1", "/", "/grants", "/console/login"):
        html = client.get(path, base_url=FORGED).get_data(as_text=True)
        assert "evil.example" not in html, path
        for link in _links(html):
            assert (link.startswith("/") and not link.startswith("//")) or link.startswith(base), (path, link)
    track = client.get(f"/t/{tracking}?submitted=1", base_url=FORGED).get_data(as_text=True)
    assert f"{base}/t/{tracking}" in track
