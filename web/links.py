"""Links that leave the page (shown to people, sent to WeChat): on PUBLIC_BASE_URL, never on the request's Host."""

from __future__ import annotations

from typing import Any

from flask import url_for

from web.context import current_context


def public_url(endpoint: str, **values: Any) -> str:
    """The full address of `endpoint` on PUBLIC_BASE_URL (a forged Host header changes nothing)."""
    return current_context().settings.public_base_url.rstrip("/") + url_for(endpoint, **values)
