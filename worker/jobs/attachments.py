"""Fetch a voice or video message through the WeChat media API and store it as it came."""

from __future__ import annotations

import mimetypes

from core.glossary import PhotoStatus
from core.models import Attachment
from media.storage import store_for
from worker import runtime
from worker.jobs.media import MediaGone, download, fail_for_good

MAX_ATTACHMENT = 20 * 1024 * 1024
EXTENSIONS = {"amr": ".amr", "speex": ".spx", "mp3": ".mp3", "video/mp4": ".mp4"}


def fetch_attachment(attachment_id: int) -> str:
    """Download attachment `attachment_id` from WeChat and mark it ready, or failed for good.

    Network and API failures raise, so rq retries; one already ready is left alone.
    """
    rt = runtime.current()
    with rt.database.session() as session:
        item = session.get(Attachment, attachment_id)
        if item is None:
            return "missing"
        if item.status != PhotoStatus.PENDING:
            return item.status.value
        try:
            media = download(rt, item.wechat_media_id, MAX_ATTACHMENT)
        except MediaGone as exc:
            return fail_for_good(session, item, str(exc))
        data, content_type = media.data, media.content_type
        extension = EXTENSIONS.get(item.format or "") or mimetypes.guess_extension(content_type) or ".bin"
        relative = f"attachments/{item.created_at:%Y/%m}/{item.id}-{item.kind}{extension}"
        item.path = store_for(rt.settings).put(relative, data, content_type)
        item.content_type, item.size = content_type, len(data)
        item.status = PhotoStatus.READY
        session.commit()
        return "ready"
