"""The one place secrets are cut out of text that leaves a process: error messages, log lines, job records."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "<redacted>"
# Names under which WeChat's APIs carry credentials: in a query string (`secret=…`), a form or a
# JSON body (`"session_key": "…"`). `code` is a wx.login or web-authorisation code: one use, but
# a credential until it is used. openid and unionid are personal data, which logs never hold.
SECRET_NAMES = (
    "secret",
    "appsecret",
    "access_token",
    "component_access_token",
    "refresh_token",
    "js_code",
    "code",
    "session_key",
    "openid",
    "unionid",
)
_NAMES = "|".join(SECRET_NAMES)
_IN_QUERY = re.compile(rf"(?<![\w-])({_NAMES})=([^&\s'\"#,)\]}}]+)", re.IGNORECASE)
_IN_JSON = re.compile(rf"([\"']({_NAMES})[\"']\s*[:,]\s*[\"'])([^\"']*)([\"'])", re.IGNORECASE)
# A safety net behind the call sites (which log resident ids, never these): a bare value shaped like
# a WeChat openid or unionid — 28 or 29 characters of letters, digits, "-" and "_" starting with "o".
_WECHAT_ID = re.compile(r"(?<![\w-])o[A-Za-z0-9_-]{27,28}(?![\w-])")
# Shorter values are too likely to occur by chance (an id, a word) to be cut everywhere.
MIN_KNOWN_LENGTH = 6

_known: frozenset[str] = frozenset()
_known_lock = threading.Lock()


def register_secrets(values: Iterable[str | None]) -> None:
    """Cut these exact values (keys, AppSecrets, tokens) out of whatever `redact` sees from now on."""
    global _known
    fresh = {v for v in values if v and len(v) >= MIN_KNOWN_LENGTH}
    with _known_lock:
        _known = _known | fresh


def redact(text: str) -> str:
    """`text` with every credential, and anything shaped like an openid or unionid, replaced by MASK."""
    if not text:
        return text
    for value in sorted(_known, key=len, reverse=True):  # longest first: one may contain another
        if value in text:
            text = text.replace(value, MASK)
    text = _IN_QUERY.sub(lambda m: f"{m[1]}={MASK}", text)
    text = _IN_JSON.sub(lambda m: f"{m[1]}{MASK}{m[4]}", text)
    return _WECHAT_ID.sub(MASK, text)


class _RedactingRecord(logging.LogRecord):
    """A log record whose message and traceback pass `redact` before any handler or formatter sees them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.exc_info and self.exc_info[0] is not None:
            # Formatters use exc_text when it is set, so a library's chained exception (requests'
            # own, with the whole URL) never reaches a log unredacted, whatever formats it.
            self.exc_text = redact(_TRACEBACK.formatException(self.exc_info))

    def getMessage(self) -> str:
        return redact(super().getMessage())


_TRACEBACK = logging.Formatter()
_installed = False


def install_log_redaction(secrets: Iterable[str | None] = ()) -> None:
    """Make every log record of this process redacted, whichever library logs it (urllib3 logs
    whole URLs, query strings and all, when it retries); register `secrets` as known values."""
    global _installed
    register_secrets(secrets)
    if not _installed:
        logging.setLogRecordFactory(_RedactingRecord)
        _installed = True
