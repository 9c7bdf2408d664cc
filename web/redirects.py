"""Where a browser may be sent after signing in: only a path of this site, decided here and nowhere else."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2000


def _hostile(text: str) -> bool:
    """True if `text` (raw or decoded) could leave the site or upset a Location header."""
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return True
    if any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in text):
        return True  # whitespace, control, format (zero-width) and unassigned characters
    parts = urlsplit(text)
    return bool(parts.scheme or parts.netloc)


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a same-site path, else `default`.

    Checked raw and after percent-decoding (repeatedly, so %252F counts as /): a scheme, a host,
    a leading // or a backslash anywhere, whitespace or control characters all mean `default`.
    Every sign-in path (console, its old address, the sign page's WeChat return) asks this function.
    """
    if not target or len(target) > MAX_LENGTH:
        return default
    text = target
    for _ in range(4):
        if _hostile(text):
            return default
        decoded = unquote(text)
        if decoded == text:
            return target
        text = decoded
    return default  # still decoding after four rounds: nobody writes a path like that
