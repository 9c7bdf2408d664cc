"""WeChat web authorisation (snsapi_base) through wechatpy, aimed at WECHAT_API_BASE and with a timeout."""

from __future__ import annotations

from typing import Any

import requests
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from core.settings import Settings
from wxclient.redact import redact, register_secrets


class OAuth(WeChatOAuth):
    """wechatpy's OAuth client; its API base follows the settings and every call has a timeout."""

    def __init__(self, settings: Settings, redirect_uri: str, state: str) -> None:
        super().__init__(
            settings.wechat_app_id, settings.wechat_app_secret, redirect_uri, scope="snsapi_base", state=state
        )
        register_secrets([settings.wechat_app_secret])
        self.API_BASE_URL = settings.wechat_api_base
        self.timeout = settings.wechat_timeout_seconds

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        try:
            return super()._request(method, url_or_endpoint, **kwargs)
        except requests.RequestException as exc:
            # The token request carries the AppSecret and the resident's code in its query string,
            # which requests' message repeats: the caller gets the kind of failure, not the URL.
            raise WeChatOAuthException(
                errcode=None, errmsg=redact(f"{type(exc).__name__}: {exc}"), request=exc.request
            ) from None


def in_wechat(user_agent: str | None) -> bool:
    """Whether the page was opened in WeChat's built-in browser."""
    return "MicroMessenger" in (user_agent or "")
