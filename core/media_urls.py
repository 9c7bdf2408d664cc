"""Signed, expiring URLs of processed photos (/media/<token>, served by web/public/media.py), for web and worker."""

from __future__ import annotations

from itsdangerous import URLSafeTimedSerializer

from core.settings import Settings

SALT = "gongzhi.media"
# Long enough to look through a case; a leaked link dies the same day.
URL_MAX_AGE_SECONDS = 6 * 3600


def serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_keys, salt=SALT)


def media_path(settings: Settings, path: str) -> str:
    """The signed site path of a processed photo or thumbnail at `path` (its key in the store)."""
    return f"/media/{serializer(settings).dumps(path)}"


def media_url(settings: Settings, path: str) -> str:
    """The same as an absolute URL, for clients outside the site (the mini-program, WeChat, a platform)."""
    return settings.public_base_url.rstrip("/") + media_path(settings, path)
