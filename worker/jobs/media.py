"""Downloading a resident's media (photo, voice, video) through the WeChat media API, for the jobs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from core.glossary import PhotoStatus
from core.models import Attachment, Photo

log = logging.getLogger(__name__)

# WeChat answers these for a media id that will never work: no retry can help.
PERMANENT_ERRCODES = {40007, 40008}


class MediaGone(Exception):
    """WeChat no longer has the media (or never had it); the message is fit for staff to read."""


@dataclass(frozen=True)
class Media:
    data: bytes
    content_type: str


def download(rt: Any, media_id: str | None, max_bytes: int) -> Media:
    """The media's bytes; MediaGone when it is gone for good or too large, other errors to retry."""
    if not media_id:
        raise MediaGone("没有可下载的媒体编号")
    try:
        response = rt.wechat.media.download(media_id)
    except WeChatClientException as exc:
        if exc.errcode in PERMANENT_ERRCODES:
            raise MediaGone(f"微信素材已失效（{exc.errcode}）") from None
        raise
    if isinstance(response, dict):  # a video: WeChat answers with a download link instead
        response = rt.wechat._http.get(response["video_url"], timeout=rt.settings.wechat_timeout_seconds)
        response.raise_for_status()
    if len(response.content) > max_bytes:
        raise MediaGone(f"文件超过 {max_bytes // (1024 * 1024)} MB")
    content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0]
    return Media(response.content, content_type)


def fail_for_good(session: Session, item: Photo | Attachment, reason: str) -> str:
    """Mark a photo or attachment failed with a reason staff can read; no retry will help."""
    log.warning("%s %s failed for good: %s", type(item).__name__, item.id, reason)
    item.status = PhotoStatus.FAILED
    item.error = reason
    session.commit()
    return "failed"
