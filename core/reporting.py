"""Unhandled errors to Sentry when SENTRY_DSN is set: no request bodies, cookies, headers or personal data."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import sentry_sdk
from sentry_sdk.integrations import Integration

from core.settings import Settings

# Request headers kept on an event; the rest (Authorization, Cookie, X-Forwarded-For …) are dropped.
SAFE_HEADERS = frozenset({"Host", "User-Agent", "Content-Type", "Content-Length", "X-Request-Id"})
# Long opaque strings in a URL path are tracking, media or checkpoint tokens: cut them out.
_TOKENISH = re.compile(r"[A-Za-z0-9_.~-]{16,}|\d{6,}")


def _scrub_text(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _scrub_text(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_text(item, redact) for item in value]
    return value


def scrub_event(event: dict[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    """The event without what may hold a secret or personal data: bodies, cookies, most headers,
    query strings, tokens in paths, local variables; every remaining string passes `redact`."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k.title() in SAFE_HEADERS}
        if isinstance(request.get("url"), str):
            request["url"] = _TOKENISH.sub("<token>", request["url"].split("?", 1)[0])
    event.pop("user", None)
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    result: dict[str, Any] = _scrub_text(event, redact)
    return result


def init_error_reporting(settings: Settings, integrations: Sequence[Integration], redact: Callable[[str], str]) -> bool:
    """Turn on error reporting for this process if SENTRY_DSN is set; whether it was."""
    if not settings.sentry_dsn:
        return False

    def before_send(event: Any, _hint: Any) -> Any:
        return scrub_event(event, redact)

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        integrations=list(integrations),
        environment=settings.app_env,
        # What send_default_pii=False asked for, in the form sentry-sdk 2.7x takes (the old option is
        # deprecated): no user, no bodies, no frame variables, no SQL parameters, no job arguments.
        data_collection={
            "user_info": False,
            "http_bodies": [],
            "stack_frame_variables": False,
            "database_query_data": False,
            "queues": False,
        },
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0,
        before_send=before_send,
        before_send_transaction=before_send,
        before_breadcrumb=lambda crumb, _hint: _scrub_text(crumb, redact),
    )
    return True
