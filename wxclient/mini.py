"""The mini-program's side of the WeChat API: sign-in (jscode2session) and subscribe messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis
from wechatpy.exceptions import WeChatClientException

from core.settings import REAL_WECHAT_API_BASE, Settings
from wxclient.official import STORAGE_PREFIX, GongzhiWeChatClient, WeChatTransportError

# The mini-program's access token is its own: a key apart from the official account's.
MINI_STORAGE_PREFIX = f"{STORAGE_PREFIX}:mini"

# What WeChat's errcodes for a login code mean, in words for the resident.
LOGIN_REFUSALS = {
    40029: "登录凭证（code）无效，请重新登录",
    40163: "登录凭证（code）已被使用，请重新登录",
    40226: "微信判定此账号存在风险，暂时无法登录",
    45011: "登录太频繁，请稍后再试",
}
# Codes that mean our side is misconfigured or WeChat is busy: the resident can only wait.
UNAVAILABLE = "微信登录服务暂时不可用，请稍后再试"


@dataclass(frozen=True)
class MiniLogin:
    """Who a wx.login code stands for; the session key stays here and is never stored or returned."""

    openid: str
    unionid: str | None


class LoginRefused(Exception):
    """WeChat refused the code; `reason` is fit to show the resident."""

    def __init__(self, errcode: int | None, reason: str) -> None:
        super().__init__(reason)
        self.errcode = errcode
        self.reason = reason


class LoginUnavailable(Exception):
    """WeChat could not be asked (unreachable, busy, or our credentials are wrong)."""


class GongzhiMiniClient(GongzhiWeChatClient):
    """The official account's client class, for the mini-program's app id and secret.

    Everything of GongzhiWeChatClient holds (URL rewrite, shared token under a lock, timeouts,
    retries); jscode2session is sent without an access token, as WeChat documents it.
    """

    def code_to_session(self, js_code: str) -> dict[str, Any]:
        """WeChat's answer to jscode2session for `js_code` (openid, session_key, maybe unionid)."""
        # A list of pairs, not a dict: wechatpy then adds no access_token, so no token is fetched.
        params = [
            ("appid", self.appid),
            ("secret", self.secret),
            ("js_code", js_code),
            ("grant_type", "authorization_code"),
        ]
        return self._request("GET", f"{REAL_WECHAT_API_BASE}sns/jscode2session", params=params)


def make_mini_client(settings: Settings, redis: Redis) -> GongzhiMiniClient:
    """The mini-program's client, as every part of the service should build it."""
    return GongzhiMiniClient(
        settings.wechat_mini_app_id,
        settings.wechat_mini_app_secret,
        redis=redis,
        api_base=settings.wechat_api_base,
        timeout=settings.wechat_timeout_seconds,
        max_retries=settings.wechat_max_retries,
        storage_prefix=MINI_STORAGE_PREFIX,
    )


def login(client: GongzhiMiniClient, code: str) -> MiniLogin:
    """Exchange a wx.login code for the resident's openid (and unionid, if WeChat gives one).

    Raises LoginRefused for a bad, expired or used code (with WeChat's reason in Chinese) and
    LoginUnavailable when WeChat cannot be reached or does not accept our credentials.
    """
    try:
        answer = client.code_to_session(code)
    except WeChatTransportError as exc:
        raise LoginUnavailable(UNAVAILABLE) from exc
    except WeChatClientException as exc:
        reason = LOGIN_REFUSALS.get(exc.errcode) if exc.errcode is not None else None
        if reason is None:
            raise LoginUnavailable(UNAVAILABLE) from exc
        raise LoginRefused(exc.errcode, reason) from exc
    openid = answer.get("openid") if isinstance(answer, dict) else None
    if not isinstance(openid, str) or not openid:
        raise LoginUnavailable(UNAVAILABLE)
    unionid = answer.get("unionid")
    return MiniLogin(openid=openid, unionid=unionid if isinstance(unionid, str) and unionid else None)


def send_subscribe(
    client: GongzhiWeChatClient, openid: str, template_id: str, data: dict[str, Any], page: str | None = None
) -> dict[str, Any]:
    """Send a subscribe message (订阅消息) to a mini-program user; `page` is what tapping it opens.

    `data` maps the template's keys to values: {"thing1": {"value": "路灯不亮"}, …}. Raises
    wechatpy's WeChatClientException (e.g. 43101: the user has no subscription left) or
    WeChatTransportError (no answer; `may_have_reached_server` says whether it might have arrived).
    """
    return client.wxa.send_subscribe_message(openid, template_id, data, page=page)
