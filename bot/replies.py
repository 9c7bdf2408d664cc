"""Passive replies that WeChat can always read: at most 2048 bytes, and XML that user text cannot break."""

from __future__ import annotations

from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply

from core.text import clean

MAX_REPLY_BYTES = 2048
ELLIPSIS = "…"


def fit(text: str, limit: int = MAX_REPLY_BYTES) -> str:
    """`text` cut at a character boundary so that its UTF-8 form fits in `limit` bytes."""
    data = text.encode()
    if len(data) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode())
    return data[:room].decode(errors="ignore") + ELLIPSIS


def text_reply(message: BaseMessage, text: str) -> str:
    """The XML of a text reply to `message`."""
    content = fit(clean(text))
    # wechatpy writes the content into CDATA as it is; a "]]>" typed by a resident and echoed
    # back would end the section early, so it is split across two sections.
    content = content.replace("]]>", "]]]]><![CDATA[>")
    return TextReply(message=message, content=content).render()
