"""The mini-program's client: sign-in without an access token, subscribe messages on a token of its own."""

from __future__ import annotations

from typing import Any

import pytest

from core.settings import Settings
from tests.fakes.wechat_api import FakeWeChatAPI
from wxclient.mini import LoginRefused, LoginUnavailable, MiniLogin, login, make_mini_client, send_subscribe
from wxclient.official import make_wechat_client

SUBSCRIBE = "/cgi-bin/message/subscribe/send"


@pytest.fixture
def mini_settings(fake_wechat: FakeWeChatAPI) -> Settings:
    settings = Settings(wechat_api_base=fake_wechat.base_url, wechat_timeout_seconds=0.5, wechat_max_retries=1)
    fake_wechat.apps[settings.wechat_mini_app_id] = settings.wechat_mini_app_secret
    return settings


def test_login_asks_jscode2session_with_the_mini_programs_credentials_only(mini_settings, fake_wechat, redis_client):
    fake_wechat.add_login_code("code-1", "oMini_1", "secret-session-key", unionid="union-1")
    client = make_mini_client(mini_settings, redis_client)
    assert login(client, "code-1") == MiniLogin(openid="oMini_1", unionid="union-1")
    [call] = fake_wechat.calls()
    assert call.path == "/sns/jscode2session" and "access_token" not in call.query
    assert call.query["appid"] == mini_settings.wechat_mini_app_id != mini_settings.wechat_app_id
    assert not redis_client.keys("*")  # no token fetched, and the session key kept nowhere


@pytest.mark.parametrize(("errcode", "words"), [(40029, "无效"), (40163, "已被使用"), (45011, "频繁")])
def test_refused_codes_say_why_in_chinese(mini_settings, fake_wechat, redis_client, errcode, words):
    fake_wechat.fail_next(1, errcode=errcode)
    with pytest.raises(LoginRefused) as refused:
        login(make_mini_client(mini_settings, redis_client), "code")
    assert refused.value.errcode == errcode and words in refused.value.reason


def test_our_wrong_credentials_or_no_answer_are_unavailable(mini_settings, fake_wechat, redis_client):
    wrong = mini_settings.replace(wechat_mini_app_secret="not-the-secret")
    with pytest.raises(LoginUnavailable):
        login(make_mini_client(wrong, redis_client), "code")
    dead = mini_settings.replace(wechat_api_base="http://127.0.0.1:9/")
    with pytest.raises(LoginUnavailable):
        login(make_mini_client(dead, redis_client), "code")


def test_subscribe_messages_use_the_mini_programs_own_token(mini_settings, fake_wechat, redis_client):
    official = make_wechat_client(mini_settings, redis_client)
    mini = make_mini_client(mini_settings, redis_client)
    official.message.send_text("oOfficial_1", "已受理")
    data: dict[str, Any] = {"character_string1": {"value": "GZ20261121-000001"}, "phrase2": {"value": "已受理"}}
    assert (
        send_subscribe(mini, "oMini_1", "TPL_MP", data, page="pages/case/detail?number=GZ20261121-000001")["errcode"]
        == 0
    )
    tokens = [call for call in fake_wechat.calls() if call.path == "/cgi-bin/token"]
    assert [call.query["appid"] for call in tokens] == [mini_settings.wechat_app_id, mini_settings.wechat_mini_app_id]
    [sent] = fake_wechat.calls(SUBSCRIBE)
    assert sent.json == {
        "touser": "oMini_1",
        "template_id": "TPL_MP",
        "page": "pages/case/detail?number=GZ20261121-000001",
        "data": data,
    }
    assert sent.query["access_token"] == mini.access_token != official.access_token
    assert mini.token_lock_name != official.token_lock_name
    assert any(key.startswith(b"gongzhi:wechat:mini") for key in redis_client.keys("*"))
