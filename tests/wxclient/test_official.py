"""The outbound WeChat client against the fake WeChat API: token sharing, locking, retries, timeouts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from wechatpy.exceptions import WeChatClientException

from core.settings import Settings
from tests.fakes.wechat_api import FakeWeChatAPI, FakeWeChatRemote
from wxclient.official import (
    BACKOFF_MAX_SECONDS,
    GongzhiWeChatClient,
    WeChatTokenLockTimeout,
    WeChatTransportError,
    make_wechat_client,
)

TIMEOUT = 0.5
RETRIES = 2
TOKEN = "/cgi-bin/token"
SEND = "/cgi-bin/message/custom/send"
MEDIA = "/cgi-bin/media/get"
# The fake's fixtures (fake_wechat, fake_wechat_remote), until tests/conftest.py imports them.

JPEG = b"\xff\xd8\xff\xe0fake-jpeg-bytes\xff\xd9"


@pytest.fixture
def wechat_settings(fake_wechat: FakeWeChatAPI) -> Settings:
    return Settings(wechat_api_base=fake_wechat.base_url, wechat_timeout_seconds=TIMEOUT, wechat_max_retries=RETRIES)


@pytest.fixture
def new_client(wechat_settings: Settings, redis_client: Any) -> Iterator[Callable[[], GongzhiWeChatClient]]:
    """Builds clients as separate processes would: each its own HTTP session, one shared Redis."""
    made: list[GongzhiWeChatClient] = []

    def build() -> GongzhiWeChatClient:
        made.append(make_wechat_client(wechat_settings, redis_client))
        return made[-1]

    yield build
    for client in made:
        client.close()


@pytest.fixture
def client(new_client: Callable[[], GongzhiWeChatClient]) -> GongzhiWeChatClient:
    return new_client()


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` on `count` threads released at the same moment; re-raise the first error."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait(timeout=10)
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(run, i) for i in range(count)]
        return [future.result(timeout=30) for future in futures]


# --- the shared token ---------------------------------------------------------------------------


def test_token_is_fetched_once_and_shared_through_redis(
    new_client: Callable[[], GongzhiWeChatClient], fake_wechat: FakeWeChatAPI, redis_client: Any
) -> None:
    first, second = new_client(), new_client()

    first.message.send_text("openid-1", "您的案件已受理")
    second.message.send_text("openid-2", "您的案件已派遣")

    assert len(fake_wechat.calls(TOKEN)) == 1
    assert [call.errcode for call in fake_wechat.calls(SEND)] == [0, 0]
    assert redis_client.get(f"gongzhi:wechat:{first.appid}_access_token") is not None
    assert first.access_token == second.access_token == fake_wechat.issued_tokens()[0]


@pytest.mark.parametrize("token_state", ["missing", "expired"])
def test_many_callers_needing_a_token_at_once_make_one_token_request(
    token_state: str,
    new_client: Callable[[], GongzhiWeChatClient],
    fake_wechat: FakeWeChatAPI,
) -> None:
    clients = [new_client() for _ in range(8)]
    if token_state == "expired":
        clients[0].access_token  # noqa: B018 - fetch one, then make it look stale to every client
        clients[0].session.set(clients[0].access_token_expires_at_key, int(time.time()) - 1)
        fake_wechat.reset()
    # A slow token answer keeps the refresh in flight while the others pile up on the lock.
    fake_wechat.fail_next(1, delay=0.3, path=TOKEN)

    run_together(8, lambda i: clients[i].message.send_text(f"openid-{i}", "已办结"))

    assert len(fake_wechat.calls(TOKEN)) == 1
    assert len(fake_wechat.calls(SEND)) == 8
    assert all(call.errcode == 0 for call in fake_wechat.calls(SEND))


def test_expired_token_error_refreshes_once_and_resends(
    client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI
) -> None:
    old_token = client.access_token
    fake_wechat.expire_tokens()

    client.message.send_text("openid-1", "已派遣")

    sends = fake_wechat.calls(SEND)
    assert [call.errcode for call in sends] == [42001, 0]
    assert sends[0].query["access_token"] == old_token
    assert sends[1].query["access_token"] == client.access_token != old_token
    assert len(fake_wechat.calls(TOKEN)) == 2


def test_many_callers_refused_the_token_at_once_refresh_it_once(
    new_client: Callable[[], GongzhiWeChatClient], fake_wechat: FakeWeChatAPI
) -> None:
    clients = [new_client() for _ in range(8)]
    clients[0].access_token  # noqa: B018 - every client now holds this token
    fake_wechat.expire_tokens()
    fake_wechat.fail_next(1, delay=0.3, path=TOKEN)

    run_together(8, lambda i: clients[i].message.send_text(f"openid-{i}", "已核查"))

    assert len(fake_wechat.calls(TOKEN)) == 2  # the first fetch and exactly one refresh
    assert sorted(call.errcode for call in fake_wechat.calls(SEND)) == [0] * 8 + [42001] * 8


def test_a_fresh_token_refused_again_ends_the_call_instead_of_looping(
    client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI
) -> None:
    client.access_token  # noqa: B018
    fake_wechat.fail_next(5, errcode=42001, path=SEND)

    with pytest.raises(WeChatClientException) as raised:
        client.message.send_text("openid-1", "已受理")

    assert raised.value.errcode == 42001
    assert len(fake_wechat.calls(SEND)) == 2
    assert len(fake_wechat.calls(TOKEN)) == 2


def test_a_wrong_secret_is_a_clear_error_and_is_not_retried(
    wechat_settings: Settings, redis_client: Any, fake_wechat: FakeWeChatAPI
) -> None:
    client = make_wechat_client(wechat_settings.replace(wechat_app_secret="wrong"), redis_client)

    with pytest.raises(WeChatClientException) as raised:
        client.message.send_text("openid-1", "你好")

    assert raised.value.errcode == 40001
    assert len(fake_wechat.calls(TOKEN)) == 1
    assert fake_wechat.calls(SEND) == []


def test_a_token_lock_held_too_long_raises_a_clear_error(
    wechat_settings: Settings, redis_client: Any, fake_wechat: FakeWeChatAPI
) -> None:
    client = GongzhiWeChatClient(
        wechat_settings.wechat_app_id,
        wechat_settings.wechat_app_secret,
        redis=redis_client,
        api_base=fake_wechat.base_url,
        timeout=TIMEOUT,
        lock_wait=0.3,
    )
    # Another process holds the lock (written as redis-py's Lock writes it).
    assert redis_client.set(client.token_lock_name, b"another-process", nx=True, px=10_000)
    try:
        started = time.monotonic()
        with pytest.raises(WeChatTokenLockTimeout):
            client.message.send_text("openid-1", "你好")
        assert time.monotonic() - started < 2
    finally:
        redis_client.delete(client.token_lock_name)
    assert fake_wechat.calls() == []


# --- where the calls go -------------------------------------------------------------------------


def test_every_call_goes_to_the_configured_base_including_hard_coded_sub_apis(
    client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI
) -> None:
    seen: list[str] = []
    client._http.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response.url))
    fake_wechat.add_media("media-1", JPEG)
    fake_wechat.add_login_code("code-1", "mini-openid", "session-key", unionid="union-1")

    client.message.send_text("openid-1", "已受理")
    client.message.send_template("openid-1", "tpl-case-status", {"status": {"value": "已派遣"}})
    client.media.download("media-1")
    login = client.wxa.code_to_session("code-1")  # wxa hard-codes https://api.weixin.qq.com/
    client.wxa.send_subscribe_message("mini-openid", "tpl-sub", {"thing1": {"value": "路灯"}})

    assert login == {"openid": "mini-openid", "session_key": "session-key", "unionid": "union-1"}
    assert [call.path for call in fake_wechat.calls()] == [
        TOKEN,
        SEND,
        "/cgi-bin/message/template/send",
        MEDIA,
        "/sns/jscode2session",
        "/cgi-bin/message/subscribe/send",
    ]
    assert seen and all(url.startswith(fake_wechat.base_url) for url in seen)
    assert client.rewrite_url("https://api.weixin.qq.com/customservice/kfaccount/add") == (
        f"{fake_wechat.base_url}customservice/kfaccount/add"
    )


def test_an_unknown_login_code_and_a_reused_one_are_refused(
    client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI
) -> None:
    fake_wechat.add_login_code("code-1", "mini-openid", "session-key")
    client.wxa.code_to_session("code-1")

    for code, errcode in (("code-1", 40163), ("never-issued", 40029)):
        with pytest.raises(WeChatClientException) as raised:
            client.wxa.code_to_session(code)
        assert raised.value.errcode == errcode


# --- media --------------------------------------------------------------------------------------


def test_media_download_returns_the_registered_bytes(client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI) -> None:
    fake_wechat.add_media("media-1", JPEG, "image/jpeg")

    response = client.media.download("media-1")

    assert response.content == JPEG
    assert response.headers["Content-Type"] == "image/jpeg"
    assert 'filename="media-1.jpg"' in response.headers["Content-disposition"]


def test_media_download_of_an_unknown_id_raises_40007(client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI) -> None:
    with pytest.raises(WeChatClientException) as raised:
        client.media.download("no-such-media")
    assert raised.value.errcode == 40007


# --- timeouts -----------------------------------------------------------------------------------


def test_a_slow_post_fails_after_one_timeout_and_is_not_resent(
    client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI
) -> None:
    client.access_token  # noqa: B018
    fake_wechat.fail_next(5, delay=5, path=SEND)

    started = time.monotonic()
    with pytest.raises(WeChatTransportError) as raised:
        client.message.send_text("openid-1", "已受理")
    elapsed = time.monotonic() - started

    assert elapsed < 3 * TIMEOUT
    assert raised.value.may_have_reached_server
    assert len(fake_wechat.calls(SEND)) == 1


@pytest.mark.parametrize("path", [MEDIA, TOKEN])
def test_a_slow_get_gives_up_within_the_retry_budget(
    path: str, client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI
) -> None:
    fake_wechat.add_media("media-1", JPEG)
    if path == MEDIA:
        client.access_token  # noqa: B018
    fake_wechat.fail_next(10, delay=5, path=path)

    started = time.monotonic()
    with pytest.raises(WeChatTransportError):
        client.media.download("media-1")
    elapsed = time.monotonic() - started

    assert elapsed < (RETRIES + 1) * TIMEOUT + RETRIES * BACKOFF_MAX_SECONDS + 1
    assert len(fake_wechat.calls(path)) == RETRIES + 1


# --- retries ------------------------------------------------------------------------------------


def test_a_get_answered_503_is_retried_and_succeeds(client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI) -> None:
    fake_wechat.add_media("media-1", JPEG)
    client.access_token  # noqa: B018
    fake_wechat.fail_next(RETRIES, status=503, path=MEDIA)

    assert client.media.download("media-1").content == JPEG
    assert [call.status for call in fake_wechat.calls(MEDIA)] == [503] * RETRIES + [200]


def test_a_get_still_503_after_the_retry_budget_fails_clearly(
    client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI
) -> None:
    fake_wechat.add_media("media-1", JPEG)
    client.access_token  # noqa: B018
    fake_wechat.fail_next(RETRIES + 1, status=503, path=MEDIA)

    with pytest.raises(WeChatTransportError) as raised:
        client.media.download("media-1")

    assert "HTTP 503" in raised.value.errmsg
    assert len(fake_wechat.calls(MEDIA)) == RETRIES + 1


def test_a_post_answered_503_is_not_resent(client: GongzhiWeChatClient, fake_wechat: FakeWeChatAPI) -> None:
    client.access_token  # noqa: B018
    fake_wechat.fail_next(1, status=503, path=SEND)

    with pytest.raises(WeChatTransportError) as raised:
        client.message.send_text("openid-1", "已受理")

    assert raised.value.may_have_reached_server
    assert len(fake_wechat.calls(SEND)) == 1


def test_a_post_that_cannot_connect_fails_saying_it_never_arrived(redis_client: Any) -> None:
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        dead_base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    client = make_wechat_client(Settings(wechat_api_base=dead_base, wechat_timeout_seconds=TIMEOUT), redis_client)
    client.session.set(client.access_token_key, "preset-token", 7200)
    client.session.set(client.access_token_expires_at_key, int(time.time()) + 7200)

    with pytest.raises(WeChatTransportError) as raised:
        client.message.send_text("openid-1", "已受理")

    assert raised.value.may_have_reached_server is False
    retry = client._http.get_adapter(dead_base).max_retries
    assert retry.connect == Settings().wechat_max_retries
    assert "POST" not in retry.allowed_methods


# --- the fake's control API over HTTP (what worker processes use) ------------------------------


def test_the_fake_can_be_driven_over_http(
    client: GongzhiWeChatClient,
    fake_wechat: FakeWeChatAPI,
    fake_wechat_remote: FakeWeChatRemote,
) -> None:
    fake_wechat_remote.add_media("media-2", b"\x89PNG-bytes", "image/png")
    fake_wechat_remote.add_login_code("code-2", "mini-openid", "sk", unionid="u-2")
    fake_wechat_remote.fail_next(1, errcode=45015, path=SEND)

    assert client.media.download("media-2").content == b"\x89PNG-bytes"
    assert client.wxa.code_to_session("code-2")["unionid"] == "u-2"
    with pytest.raises(WeChatClientException) as raised:
        client.message.send_text("openid-1", "已受理")
    assert raised.value.errcode == 45015

    calls = fake_wechat_remote.calls(SEND)
    assert len(calls) == 1 and calls[0].json["touser"] == "openid-1" and calls[0].errcode == 45015
    assert len(fake_wechat_remote.calls()) == len(fake_wechat.calls()) == 4

    fake_wechat_remote.expire_tokens()
    client.message.send_text("openid-1", "已受理")
    assert [call.errcode for call in fake_wechat.calls(SEND)] == [45015, 42001, 0]

    fake_wechat_remote.reset()
    assert fake_wechat.calls() == []


CHILD_PROCESS = """
import sys

import fakeredis

from wxclient.official import make_wechat_client
from core.settings import Settings
from tests.fakes.wechat_api import FakeWeChatRemote

base = sys.argv[1]
remote = FakeWeChatRemote(base)
remote.add_media("from-child", b"child-bytes", "image/png")
client = make_wechat_client(Settings(wechat_api_base=base), fakeredis.FakeRedis())
client.message.send_text("openid-child", "来自另一个进程")
print(len(remote.calls("/cgi-bin/message/custom/send")))
"""


def test_another_process_can_call_and_drive_the_fake(fake_wechat: FakeWeChatAPI, redis_client: Any) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", CHILD_PROCESS, fake_wechat.base_url],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert done.stdout.strip() == "1"
    assert [call.json["touser"] for call in fake_wechat.calls(SEND)] == ["openid-child"]
    fake_wechat.reset()
    here = make_wechat_client(Settings(wechat_api_base=fake_wechat.base_url), redis_client)
    assert here.media.download("from-child").content == b"child-bytes"


def test_random_failures_repeat_with_the_same_seed(
    fake_wechat: FakeWeChatAPI, fake_wechat_remote: FakeWeChatRemote
) -> None:
    def outcomes() -> list[int | None]:
        for _ in range(30):
            requests.get(f"{fake_wechat.base_url}cgi-bin/token", params={"grant_type": "x"}, timeout=5)
        return [call.status if call.status != 200 else call.errcode for call in fake_wechat.calls(TOKEN)]

    fake_wechat_remote.fail_ratio(0.3, seed=7, kind="status", path=TOKEN)
    first = outcomes()
    fake_wechat.reset()
    fake_wechat.fail_ratio(0.3, seed=7, kind="status", path=TOKEN)
    second = outcomes()

    assert first == second
    assert 503 in first and 40002 in first
