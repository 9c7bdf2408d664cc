"""WeChat web authorisation (snsapi_base) through wechatpy, aimed at WECHAT_API_BASE and with a timeout."""

from __future__ import annotations

from typing import Any

from wechatpy.oauth import WeChatOAuth

from core.settings import Settings


class OAuth(WeChatOAuth):
    """wechatpy's OAuth client; its API base follows the settings and every call has a timeout."""

    def __init__(self, settings: Settings, redirect_uri: str, state: str) -> None:
        super().__init__(
            settings.wechat_app_id, settings.wechat_app_secret, redirect_uri, scope="snsapi_base", state=state
        )
        self.API_BASE_URL = settings.wechat_api_base
        self.timeout = settings.wechat_timeout_seconds

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return super()._request(method, url_or_endpoint, **kwargs)


def in_wechat(user_agent: str | None) -> bool:
    """Whether the page was opened in WeChat's built-in browser."""
    return "MicroMessenger" in (user_agent or "")
