"""Resident sign-in: a wx.login code becomes a resident token."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, request

from core.services.resident_auth import resident_for_mini
from web import ratelimit
from web.context import current_context
from web.errors import json_error
from web.residents.api.auth import issue_token
from web.residents.api.base import ApiBlueprint
from web.residents.api.schemas import LoginSchema, TokenSchema
from wxclient.mini import GongzhiMiniClient, LoginRefused, LoginUnavailable, login, make_mini_client

log = logging.getLogger(__name__)

blueprint = ApiBlueprint("mini_session", __name__, url_prefix="/api/v1", description="居民登录")
CLIENT_KEY = "gongzhi.mini_client"
TOO_FREQUENT = 45011
# Sign-ins per client address: a mini-program signs in at launch, and residents behind one NAT share
# an address, so the bound is generous; it stops a client spending WeChat's code2session quota.
PER_CLIENT = {"limit": 30, "window_seconds": 60}


def mini_client() -> GongzhiMiniClient:
    """The app's mini-program client, made on first use and kept for the app's life."""
    client = current_app.extensions.get(CLIENT_KEY)
    if client is None:
        context = current_context()
        client = current_app.extensions[CLIENT_KEY] = make_mini_client(context.settings, context.redis)
    return client


@blueprint.route("/session", methods=["POST"])
@blueprint.arguments(LoginSchema)
@blueprint.response(200, TokenSchema)
@blueprint.errors(429, 503)
def sign_in(body: dict[str, Any]) -> Any:
    """用 wx.login() 的 code 登录，得到居民令牌。

    服务器向微信换取 openid（session_key 不保存、不返回）；同一 unionid 的公众号居民与小程序居民为同一人。
    同一地址登录过于频繁时返回 429。
    """
    client = request.remote_addr or "unknown"
    if not ratelimit.hit(current_context().redis, "api-session", client, **PER_CLIENT):
        return json_error(429, "too_many_requests", "登录太频繁，请稍后再试")
    try:
        who = login(mini_client(), body["code"])
    except LoginRefused as exc:
        status = 429 if exc.errcode == TOO_FREQUENT else 400
        return json_error(status, "login_refused", exc.reason)
    except LoginUnavailable as exc:
        log.warning("mini-program sign-in failed: %r", exc.__cause__ or exc)
        return json_error(503, "wechat_unavailable", str(exc))
    context = current_context()
    with context.uow() as uow:
        resident = resident_for_mini(uow.session, who.openid, who.unionid)
        uow.commit()
        token = issue_token(resident)
    return {"token": token, "expires_in": context.settings.resident_token_max_age_seconds}
