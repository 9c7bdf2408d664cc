"""The short-lived signed link to a resident's copy of their data (the bot's 「我的数据」)."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.settings import Settings

# A salt of its own: no resident token, media link or staff token opens this page, nor the other way round.
SALT = "gongzhi.my-data"
MAX_AGE_SECONDS = 15 * 60
PAGE_PATH = "/me/data/"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_keys, salt=SALT)


def data_token(settings: Settings, resident_id: int) -> str:
    """A token naming the resident, good for MAX_AGE_SECONDS."""
    return _serializer(settings).dumps({"rid": resident_id})


def data_url(settings: Settings, resident_id: int) -> str:
    """The page's absolute address, built on PUBLIC_BASE_URL."""
    return settings.public_base_url.rstrip("/") + PAGE_PATH + data_token(settings, resident_id)


def resident_of(settings: Settings, token: str) -> int | None:
    """The resident id a genuine, unexpired token names; None for anything else."""
    try:
        data = _serializer(settings).loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # SignatureExpired is one
        return None
    rid = data.get("rid") if isinstance(data, dict) else None
    return rid if isinstance(rid, int) and not isinstance(rid, bool) else None
