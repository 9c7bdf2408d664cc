"""Cleaning text people typed: what cannot stand in XML or a template message is dropped."""

from __future__ import annotations

import re

# XML 1.0 allows tab, newline, carriage return and everything from U+0020 up (bar the surrogates
# and U+FFFE/U+FFFF); anything else would make a reply or template message unreadable to WeChat.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str | None, limit: int | None = None) -> str:
    """`text` without characters XML cannot carry, stripped, and cut to `limit` characters."""
    cleaned = _NOT_XML.sub("", text or "").strip()
    return cleaned[:limit] if limit is not None else cleaned
